package serve

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
	"golang.org/x/image/draw"
)

// batchedText routes a classifier's prompts through the text batcher.
type batchedText struct{ s *Server }

func (b batchedText) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	return b.s.texts.submit(ctx, texts)
}
func (b batchedText) LogitScale() float32 { return b.s.cfg.Model.LogitScale() }

// LogitBias and SigmoidProbs pass a SigLIP model's sigmoid probabilities
// on to the classifier (clip.NewClassifier asks for them).
func (b batchedText) LogitBias() float32 { return b.s.cfg.Model.LogitBias() }
func (b batchedText) SigmoidProbs() bool { return b.s.cfg.Model.SigmoidProbs() }

type classifyRequest struct {
	Images    []string `json:"images"`    // data: URLs
	Labels    []string `json:"labels"`    // class names
	Templates []string `json:"templates"` // "a photo of a {}."; empty: the labels alone
	TopK      int      `json:"top_k"`     // default all
}

type classifyResult struct {
	Index  int               `json:"index"`
	Labels []clip.Prediction `json:"labels"`
}

// maxPrompts bounds labels × templates of one classify request.
const maxPrompts = 4096

func (s *Server) classify(w http.ResponseWriter, r *http.Request) {
	var req classifyRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	switch {
	case len(req.Images) == 0 || len(req.Labels) == 0:
		s.fail(w, r, badRequest("want at least one image and one label"))
		return
	case len(req.Images) > s.cfg.MaxInputs || len(req.Labels)*max(1, len(req.Templates)) > maxPrompts:
		s.fail(w, r, &requestError{http.StatusRequestEntityTooLarge, "too_many_inputs", fmt.Sprintf("at most %d images and %d prompts (labels × templates)", s.cfg.MaxInputs, maxPrompts)})
		return
	}
	for _, t := range req.Templates {
		if !strings.Contains(t, clip.TemplatePlaceholder) {
			s.fail(w, r, badRequest("template %q has no {}", t))
			return
		}
	}
	cl, err := clip.NewClassifier(r.Context(), batchedText{s}, req.Labels, &clip.ClassifierOptions{Templates: req.Templates, BatchSize: s.cfg.MaxBatch})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vecs, err := s.embedImageURLs(r.Context(), req.Images)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	preds, err := cl.Classify(vecs, req.TopK)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]classifyResult, len(preds))
	for i, p := range preds {
		out[i] = classifyResult{i, p}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "model": s.cfg.ModelName, "data": out})
}

type searchHit struct {
	Rank      int     `json:"rank"`
	Score     float32 `json:"score"`
	Row       int     `json:"row"`
	ID        string  `json:"id"`
	Path      string  `json:"path,omitempty"`
	Label     int     `json:"label"`
	Class     string  `json:"class,omitempty"`
	Thumbnail string  `json:"thumbnail,omitempty"`
}

const maxK = 1000

// searchText serves GET /v1/search?q=TEXT&k=10.
func (s *Server) searchText(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if q == "" {
		s.fail(w, r, badRequest("want ?q=TEXT"))
		return
	}
	s.search(w, r, searchRequest{Text: q, K: r.URL.Query().Get("k")})
}

type searchRequest struct {
	Text  string `json:"text"`
	Image string `json:"image"` // data: URL
	K     string `json:"-"`
	KNum  int    `json:"k"`
}

// searchPost serves POST /v1/search {"image": "data:…"} or {"text": …}.
func (s *Server) searchPost(w http.ResponseWriter, r *http.Request) {
	var req searchRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if (req.Text == "") == (req.Image == "") {
		s.fail(w, r, badRequest("want one of text or image"))
		return
	}
	if req.KNum != 0 {
		req.K = strconv.Itoa(req.KNum)
	}
	s.search(w, r, req)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, req searchRequest) {
	if s.cfg.Index == nil {
		writeError(w, http.StatusNotFound, "no_index", "no index loaded (start the server with --index)")
		return
	}
	k, err := strconv.Atoi(cmpOr(req.K, "10"))
	if err != nil || k <= 0 || k > maxK {
		s.fail(w, r, badRequest("k must be in 1…%d", maxK))
		return
	}
	var q [][]float32
	if req.Image != "" {
		q, err = s.embedImageURLs(r.Context(), []string{req.Image})
	} else {
		q, err = s.texts.submit(r.Context(), []string{req.Text})
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hits, err := s.cfg.Index.Search(q, k)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]searchHit, len(hits[0]))
	for i, h := range hits[0] {
		rec := s.cfg.Index.Record(h.Row)
		out[i] = searchHit{Rank: i + 1, Score: h.Score, Row: h.Row, ID: rec.ID, Path: rec.Path, Label: rec.Label, Class: rec.Class}
		if rec.Path != "" {
			out[i].Thumbnail = fmt.Sprintf("/v1/thumbnails/%d", h.Row)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "model": s.cfg.ModelName, "data": out})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// thumbSize is the longest side of a thumbnail.
const thumbSize = 192

// thumbnail serves a JPEG thumbnail of index row {row}. Only rows are
// addressable, never paths, and the row's file must lie inside one of the
// index's roots after resolving symbolic links.
func (s *Server) thumbnail(w http.ResponseWriter, r *http.Request) {
	ix := s.cfg.Index
	row, err := strconv.Atoi(r.PathValue("row"))
	if ix == nil || err != nil || row < 0 || row >= ix.Len() || ix.Record(row).Path == "" {
		writeError(w, http.StatusNotFound, "not_found", "no such thumbnail")
		return
	}
	p, ok := insideRoots(ix.Record(row).Path, ix.Manifest().Roots)
	if !ok {
		writeError(w, http.StatusForbidden, "forbidden", "file outside the indexed folders")
		return
	}
	img, err := imageproc.DecodeFile(p, &imageproc.DecodeOptions{MaxBytes: maxImageBytes, MaxPixels: maxImagePixels})
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "image no longer readable")
		return
	}
	b := img.Bounds()
	scale := float64(thumbSize) / float64(max(b.Dx(), b.Dy()))
	dst := image.NewRGBA(image.Rect(0, 0, max(1, int(float64(b.Dx())*min(scale, 1))), max(1, int(float64(b.Dy())*min(scale, 1)))))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	var buf bytes.Buffer
	jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 85})
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Write(buf.Bytes())
}

// insideRoots resolves symbolic links in p and reports whether the real
// file lies inside one of the (resolved) roots.
func insideRoots(p string, roots []string) (string, bool) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", false
	}
	if st, err := os.Stat(real); err != nil || !st.Mode().IsRegular() {
		return "", false
	}
	for _, root := range roots {
		rr, err := filepath.EvalSymlinks(root)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(rr, real)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return real, true
		}
	}
	return "", false
}
