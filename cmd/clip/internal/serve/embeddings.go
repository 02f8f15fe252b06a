package serve

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/cmd/clip/internal/pixblock"
	"github.com/goclip/goclip/imageproc"
)

// Limits on image inputs: encoded bytes and decoded pixels per image
// (a 16k×16k photo is 268 M pixels, a decompression bomb far more).
const (
	maxImageBytes  = 16 << 20
	maxImagePixels = 50_000_000
)

func decodeSlots() int { return runtime.GOMAXPROCS(0) }

// embeddingRequest is OpenAI's /v1/embeddings body plus "modality".
type embeddingRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Modality       string          `json:"modality"`
	Dimensions     int             `json:"dimensions"`
	User           string          `json:"user"`
}

type embeddingData struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32 or a base64 string
}

type embeddingResponse struct {
	Object string          `json:"object"`
	Data   []embeddingData `json:"data"`
	Model  string          `json:"model"`
	Usage  usage           `json:"usage"`
}

type usage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	var req embeddingRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Model != s.cfg.ModelName {
		writeError(w, http.StatusNotFound, "model_not_found", fmt.Sprintf("model %q is not served here (this server serves %q)", req.Model, s.cfg.ModelName))
		return
	}
	if req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		s.fail(w, r, badRequest("encoding_format %q: want float or base64", req.EncodingFormat))
		return
	}
	if req.Dimensions != 0 && req.Dimensions != s.cfg.Model.EmbedDim() {
		s.fail(w, r, badRequest("dimensions %d: this model embeds in %d", req.Dimensions, s.cfg.Model.EmbedDim()))
		return
	}
	inputs, err := s.parseInputs(req.Input)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var vecs [][]float32
	tokens := 0
	switch req.Modality {
	case "", "text":
		tokens = s.countTokens(inputs)
		vecs, err = s.texts.submit(r.Context(), inputs)
	case "image":
		vecs, err = s.embedImageURLs(r.Context(), inputs)
	default:
		err = badRequest("modality %q: want text or image", req.Modality)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	clip.Normalize(vecs)
	resp := embeddingResponse{Object: "list", Model: s.cfg.ModelName, Usage: usage{tokens, tokens}}
	for i, v := range vecs {
		d := embeddingData{Object: "embedding", Index: i, Embedding: v}
		if req.EncodingFormat == "base64" {
			d.Embedding = base64F32(v)
		}
		resp.Data = append(resp.Data, d)
	}
	writeJSON(w, http.StatusOK, resp)
}

// parseInputs reads "input": a string or an array of strings (token-id
// arrays, which OpenAI also takes, are refused: CLIP has its own
// tokenizer).
func (s *Server) parseInputs(raw json.RawMessage) ([]string, error) {
	var one string
	var many []string
	switch {
	case len(raw) == 0:
		return nil, badRequest("input is required")
	case json.Unmarshal(raw, &one) == nil:
		many = []string{one}
	case json.Unmarshal(raw, &many) != nil:
		return nil, badRequest("input: want a string or an array of strings")
	}
	if len(many) == 0 {
		return nil, badRequest("input is empty")
	}
	if len(many) > s.cfg.MaxInputs {
		return nil, &requestError{http.StatusRequestEntityTooLarge, "too_many_inputs", fmt.Sprintf("%d inputs, at most %d per request", len(many), s.cfg.MaxInputs)}
	}
	return many, nil
}

// countTokens counts the tokens the model sees (BOS and EOS included,
// truncated at the context length), OpenAI's usage.prompt_tokens.
func (s *Server) countTokens(texts []string) int {
	tok := s.cfg.Model.Tokenizer()
	if tok == nil {
		return 0
	}
	n := 0
	for _, t := range texts {
		n += min(len(tok.Encode(t)), tok.MaxLength())
	}
	return n
}

func base64F32(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// embedImageURLs loads (data: URLs, or allow-listed http(s) URLs),
// decodes and preprocesses the images in parallel, then embeds them
// through the image batcher.
func (s *Server) embedImageURLs(ctx context.Context, urls []string) ([][]float32, error) {
	px := make([][]float32, len(urls))
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data, err := s.loadImage(ctx, u)
			if err == nil {
				px[i], err = s.pixels(ctx, data)
			}
			if err != nil {
				errs[i] = fmt.Errorf("input %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		var re *requestError
		if errors.As(err, &re) {
			return nil, &requestError{re.status, re.code, err.Error()}
		}
		return nil, err
	}
	return s.images.submit(ctx, px)
}

// pixels decodes and preprocesses one image, at most decodeSlots at a time.
func (s *Server) pixels(ctx context.Context, data []byte) ([]float32, error) {
	select {
	case s.decode <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.decode }()
	p := s.cfg.Model.Processor().WithDecodeOptions(&imageproc.DecodeOptions{MaxBytes: maxImageBytes, MaxPixels: maxImagePixels})
	px, err := pixblock.New(s.cfg.Model, p).Encoded(data) // [3,S,S], or a SigLIP 2 NaFlex patch grid
	if err != nil {
		return nil, &requestError{http.StatusBadRequest, "invalid_image", err.Error()}
	}
	return px, nil
}

// loadImage returns the bytes of a data: URL, or of an http(s) URL whose
// host is allow-listed.
func (s *Server) loadImage(ctx context.Context, in string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(in, "data:"); ok {
		meta, payload, ok := strings.Cut(rest, ",")
		if !ok || !strings.HasSuffix(meta, ";base64") {
			return nil, badRequest("want a data:image/...;base64,... URL")
		}
		if base64.StdEncoding.DecodedLen(len(payload)) > maxImageBytes {
			return nil, &requestError{http.StatusRequestEntityTooLarge, "image_too_large", fmt.Sprintf("image over %d bytes", maxImageBytes)}
		}
		b, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			return nil, badRequest("data URL: %v", err)
		}
		return b, nil
	}
	u, err := url.Parse(in)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, badRequest("image input: want a data: URL (or an http(s) URL when the server allows its host)")
	}
	if s.fetch == nil || !hostAllowed(s.cfg.AllowHosts, u.Hostname()) {
		return nil, &requestError{http.StatusForbidden, "url_not_allowed", fmt.Sprintf("fetching %s is not allowed (start the server with --allow-host %s)", u.Host, u.Hostname())}
	}
	return s.fetchURL(ctx, u.String())
}

func hostAllowed(hosts []string, h string) bool {
	return slices.ContainsFunc(hosts, func(a string) bool { return strings.EqualFold(a, h) })
}

// newFetchClient returns the client for allow-listed image URLs (nil
// when none are allowed): short timeout, and redirects only to allowed
// hosts.
func newFetchClient(hosts []string) *http.Client {
	if len(hosts) == 0 {
		return nil
	}
	return &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 || !hostAllowed(hosts, req.URL.Hostname()) {
			return errors.New("redirect to a host that is not allowed")
		}
		return nil
	}}
}

func (s *Server) fetchURL(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	resp, err := s.fetch.Do(req)
	if err != nil {
		return nil, &requestError{http.StatusBadGateway, "fetch_failed", err.Error()}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &requestError{http.StatusBadGateway, "fetch_failed", fmt.Sprintf("%s: HTTP %d", u, resp.StatusCode)}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxImageBytes+1))
	if err != nil {
		return nil, &requestError{http.StatusBadGateway, "fetch_failed", err.Error()}
	}
	if len(b) > maxImageBytes {
		return nil, &requestError{http.StatusRequestEntityTooLarge, "image_too_large", fmt.Sprintf("image over %d bytes", maxImageBytes)}
	}
	return b, nil
}
