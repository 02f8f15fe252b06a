// Package serve is the HTTP service of `clip serve`: OpenAI-compatible
// embeddings, zero-shot classification and index search over one loaded
// model, with dynamic batching across requests, a bounded queue, limits,
// bearer-token auth, Prometheus metrics and a small embedded search page.
package serve

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/cmd/clip/internal/pixblock"
	"github.com/goclip/goclip/index"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Server. Zero values mean the defaults noted.
type Config struct {
	Model     *clip.Model  // required
	ModelName string       // the id clients send as "model"; required
	Index     *index.Index // optional: enables /v1/search and thumbnails

	MaxBatch     int                  // inputs per model call; default 32
	MaxWait      time.Duration        // longest a batch waits to fill; default 10 ms
	QueueSize    int                  // inputs waiting per modality before 429; default 8×MaxBatch
	MaxBodyBytes int64                // request body limit; default 32 MiB
	MaxInputs    int                  // inputs per request; default 256
	Timeout      time.Duration        // per-request deadline; default 60 s
	APIKey       string               // when set, every /v1 request needs "Authorization: Bearer KEY"
	AllowHosts   []string             // hosts whose http(s) image URLs may be fetched; empty: remote URLs refused
	Logger       *slog.Logger         // default slog.Default()
	Registry     *prometheus.Registry // metrics registry; default a new one (served at /metrics)
}

// Server is the HTTP service. Create it with New; Shutdown stops it.
type Server struct {
	cfg      Config
	mux      *http.ServeMux
	allow    map[string]string // API path → allowed methods
	texts    *batcher[string]
	images   *batcher[[]float32]
	decode   chan struct{} // bounds concurrent image decoding
	draining atomic.Bool
	m        *metrics
	log      *slog.Logger
	fetch    *http.Client
}

// New starts the batchers and returns the server.
func New(cfg Config) (*Server, error) {
	if cfg.Model == nil || cfg.ModelName == "" {
		return nil, errors.New("serve: Model and ModelName are required")
	}
	if cfg.Index != nil && cfg.Index.Dim() != cfg.Model.EmbedDim() {
		return nil, fmt.Errorf("serve: the index holds %d-d embeddings, the model makes %d-d", cfg.Index.Dim(), cfg.Model.EmbedDim())
	}
	setDefaults(&cfg)
	s := &Server{cfg: cfg, mux: http.NewServeMux(), allow: map[string]string{}, log: cfg.Logger, decode: make(chan struct{}, decodeSlots())}
	s.m = newMetrics(cfg.Registry)
	s.texts = newBatcher(cfg.MaxBatch, cfg.MaxWait, cfg.QueueSize, cfg.Model.EmbedTexts, s.m.observer("text"))
	s.images = newBatcher(cfg.MaxBatch, cfg.MaxWait, cfg.QueueSize, s.embedPixels, s.m.observer("image"))
	s.m.queueDepth(s.texts.depth, s.images.depth)
	s.fetch = newFetchClient(cfg.AllowHosts)
	s.routes()
	return s, nil
}

func setDefaults(c *Config) {
	if c.MaxBatch <= 0 {
		c.MaxBatch = 32
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 10 * time.Millisecond
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 8 * c.MaxBatch
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 32 << 20
	}
	if c.MaxInputs <= 0 {
		c.MaxInputs = 256
	}
	c.MaxInputs = min(c.MaxInputs, c.QueueSize) // a larger request could never be queued
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
}

// embedPixels runs one image batch: one pixblock block per input ([3,S,S]
// pixel values, or a SigLIP 2 NaFlex patch grid).
func (s *Server) embedPixels(ctx context.Context, px [][]float32) ([][]float32, error) {
	flat := make([]float32, 0, len(px)*len(px[0]))
	for _, p := range px {
		flat = append(flat, p...)
	}
	return pixblock.New(s.cfg.Model, nil).EmbedPixels(ctx, flat)
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", s.m.handler(s.cfg.Registry))
	s.mux.HandleFunc("GET /{$}", s.page)
	s.api("POST /v1/embeddings", s.embeddings)
	s.api("POST /v1/classify", s.classify)
	s.api("GET /v1/search", s.searchText)
	s.api("POST /v1/search", s.searchPost)
	s.api("GET /v1/thumbnails/{row}", s.thumbnail)
	s.api("GET /v1/models", s.models)
	s.mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
}

// api registers an API handler behind auth, the body limit, the deadline
// and the metrics.
func (s *Server) api(pattern string, h func(w http.ResponseWriter, r *http.Request)) {
	method, path, _ := strings.Cut(pattern, " ")
	if s.allow[path] == "" {
		// Other methods on the path get a JSON 405 instead of the mux's text.
		s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", s.allow[path])
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" not allowed on "+r.URL.Path+" (allowed: "+s.allow[path]+")")
		})
		s.allow[path] = method
	} else {
		s.allow[path] += ", " + method
	}
	s.mux.Handle(pattern, s.m.instrument(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="goclip"`)
			writeError(w, http.StatusUnauthorized, "invalid_api_key", "missing or wrong bearer token")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
		defer cancel()
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		h(w, r.WithContext(ctx))
	})))
}

// authorized compares the bearer token in constant time.
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.APIKey == "" {
		return true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.APIKey)) == 1
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		http.Error(w, "draining\n", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

// ServeHTTP serves the API, the page and the operational endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Drain marks the server not ready (so /readyz answers 503 and load
// balancers stop sending); requests still in flight complete. Call it
// before http.Server.Shutdown, and Close after.
func (s *Server) Drain() { s.draining.Store(true) }

// Close stops the batchers after the inputs already queued have run.
func (s *Server) Close() {
	s.draining.Store(true)
	s.texts.stop()
	s.images.stop()
}

// apiError is OpenAI's error body.
type apiError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Message, e.Error.Code = msg, code
	e.Error.Type = "invalid_request_error"
	if status >= 500 || status == http.StatusTooManyRequests {
		e.Error.Type = "server_error"
	}
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// fail maps an error from decoding a request or waiting for the batcher
// to a status code.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	var re *requestError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body over %d bytes", mbe.Limit))
	case errors.As(err, &re):
		writeError(w, re.status, re.code, re.msg)
	case errors.Is(err, errQueueFull):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "overloaded", "the server's queue is full; retry later")
	case errors.Is(err, errStopped):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "timeout", "request deadline exceeded")
	case r.Context().Err() != nil:
		// The client went away: nobody reads the answer.
		w.WriteHeader(499)
	default:
		s.log.Error("request failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal_error", err.Error())
	}
}

// requestError is a client error with its status and code.
type requestError struct {
	status    int
	code, msg string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &requestError{http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, a...)}
}

// decodeBody reads a JSON request body into v, strictly.
func decodeBody(r *http.Request, v any) error {
	// JSON, or no type, or curl -d's default form type (the body is parsed
	// as JSON either way).
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return &requestError{http.StatusUnsupportedMediaType, "unsupported_media_type", "want Content-Type: application/json"}
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("request body: %v", err)
	}
	return nil
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []map[string]any{
		{"id": s.cfg.ModelName, "object": "model", "owned_by": "goclip", "created": 0}}})
}
