package serve

import (
	_ "embed"
	"net/http"
)

//go:embed static/index.html
var pageHTML []byte

// page serves the search page: one self-contained HTML file (inline CSS
// and script, no build step, nothing fetched from elsewhere).
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
	w.Write(pageHTML)
}
