package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/index"
	"github.com/goclip/goclip/synth"
)

// fixture is a tiny synthetic model, a few PNG images, an index of them,
// and the server on a loopback port (httptest.NewServer: a real listener
// on 127.0.0.1 and real HTTP).
type fixture struct {
	model  *clip.Model
	proc   *imageproc.Processor
	dir    string
	images []string
	srv    *Server
	ts     *httptest.Server
}

func pngImage(k int) []byte {
	im := image.NewRGBA(image.Rect(0, 0, 40+8*k, 48))
	for y := range 48 {
		for x := range 40 + 8*k {
			im.Set(x, y, color.RGBA{uint8(x*6 + k*40), uint8(y * 5), uint8(255 - k*50), 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, im)
	return b.Bytes()
}

// pixelEmbedder builds the fixture index with the model (as clip index
// build does).
type pixelEmbedder struct {
	m    *clip.Model
	proc *imageproc.Processor
}

func (e pixelEmbedder) Dim() int { return e.m.EmbedDim() }
func (e pixelEmbedder) EmbedEncoded(ctx context.Context, imgs [][]byte) ([][]float32, []error, error) {
	out := make([][]float32, len(imgs))
	for i, b := range imgs {
		px, err := e.proc.Reader(bytes.NewReader(b))
		if err != nil {
			return nil, nil, err
		}
		v, err := e.m.EmbedPixels(ctx, px)
		if err != nil {
			return nil, nil, err
		}
		out[i] = v[0]
	}
	return out, nil, nil
}

func newFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	mdir := filepath.Join(f.dir, "model")
	if err := synth.WriteModel(mdir, synth.Tiny(), 1); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.model, err = clip.Load(mdir, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.model.Close() })
	f.proc = f.model.Processor()
	root := filepath.Join(f.dir, "photos")
	os.MkdirAll(root, 0o755)
	for k := range 4 {
		p := filepath.Join(root, fmt.Sprintf("img%d.png", k))
		os.WriteFile(p, pngImage(k), 0o644)
		f.images = append(f.images, p)
	}
	ixDir := filepath.Join(f.dir, "index")
	if _, err := index.Build(context.Background(), ixDir, index.Files([]string{root}), pixelEmbedder{f.model, f.proc}, &index.BuildOptions{Roots: []string{root}}); err != nil {
		t.Fatal(err)
	}
	ix, err := index.Open(ixDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Model: f.model, ModelName: "tiny", Index: ix,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if edit != nil {
		edit(&cfg)
	}
	if f.srv, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	f.ts = httptest.NewServer(f.srv)
	t.Cleanup(func() { f.ts.Close(); f.srv.Close() })
	return f
}

// post sends a JSON body and decodes the JSON answer into out (if non-nil).
func (f *fixture) post(t *testing.T, path string, body any, hdr map[string]string, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", f.ts.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s: %d %q: %v", path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

func dataURL(b []byte) string { return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b) }

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

type embResp struct {
	Data []struct {
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
	Usage usage  `json:"usage"`
}

func (r embResp) vec(t *testing.T, i int) []float32 {
	var v []float32
	if json.Unmarshal(r.Data[i].Embedding, &v) == nil {
		return v
	}
	var s string
	if err := json.Unmarshal(r.Data[i].Embedding, &s); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(s)
	v = make([]float32, len(raw)/4)
	for j := range v {
		v[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
	}
	return v
}

// Text and image embeddings over HTTP equal the library's (the path
// `clip embed` takes): cosine ≥ 0.99999 — the same float32 computation,
// the only difference the server's normalisation — with unit norm, in
// both encodings, and with the token usage counted.
func TestEmbeddingsMatchLibrary(t *testing.T) {
	f := newFixture(t, nil)
	texts := []string{"a photo of a cat", "a dog on a beach", "x"}
	want, err := f.model.EmbedTexts(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []string{"float", "base64"} {
		var r embResp
		if code := f.post(t, "/v1/embeddings", map[string]any{"model": "tiny", "input": texts, "encoding_format": enc}, nil, &r); code != 200 || len(r.Data) != 3 {
			t.Fatalf("%s: %d %+v", enc, code, r)
		}
		for i := range texts {
			v := r.vec(t, i)
			if c := cosine(v, want[i]); c < 0.99999 || math.Abs(cosine(v, v)*0+norm(v)-1) > 1e-6 {
				t.Fatalf("%s text %d: cosine %v, norm %v", enc, i, c, norm(v))
			}
		}
		if r.Usage.PromptTokens != 7+7+3 /* BOS, words, EOS */ || r.Model != "tiny" {
			t.Fatalf("usage %+v model %q", r.Usage, r.Model)
		}
	}
	var inputs []string
	for _, p := range f.images {
		b, _ := os.ReadFile(p)
		inputs = append(inputs, dataURL(b))
	}
	var r embResp
	if code := f.post(t, "/v1/embeddings", map[string]any{"model": "tiny", "input": inputs, "modality": "image"}, nil, &r); code != 200 {
		t.Fatalf("images: %d", code)
	}
	for i, p := range f.images {
		px, _ := f.proc.File(p)
		w, _ := f.model.EmbedPixels(context.Background(), px)
		if c := cosine(r.vec(t, i), w[0]); c < 0.99999 {
			t.Fatalf("image %d: cosine %v", i, c)
		}
	}
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// Errors are OpenAI-shaped JSON with the right status codes.
func TestErrors(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxInputs = 3; c.MaxBodyBytes = 1 << 16 })
	big := strings.Repeat("a", 1<<17)
	cases := []struct {
		name   string
		path   string
		body   any
		status int
		code   string
	}{
		{"wrong model", "/v1/embeddings", map[string]any{"model": "gpt", "input": "a"}, 404, "model_not_found"},
		{"no input", "/v1/embeddings", map[string]any{"model": "tiny"}, 400, "invalid_request"},
		{"token ids", "/v1/embeddings", map[string]any{"model": "tiny", "input": []int{1, 2}}, 400, "invalid_request"},
		{"too many", "/v1/embeddings", map[string]any{"model": "tiny", "input": []string{"a", "b", "c", "d"}}, 413, "too_many_inputs"},
		{"body too large", "/v1/embeddings", map[string]any{"model": "tiny", "input": big}, 413, "body_too_large"},
		{"bad format", "/v1/embeddings", map[string]any{"model": "tiny", "input": "a", "encoding_format": "int8"}, 400, "invalid_request"},
		{"bad modality", "/v1/embeddings", map[string]any{"model": "tiny", "input": "a", "modality": "audio"}, 400, "invalid_request"},
		{"remote url off", "/v1/embeddings", map[string]any{"model": "tiny", "input": "http://169.254.169.254/x.png", "modality": "image"}, 403, "url_not_allowed"},
		{"not an image", "/v1/embeddings", map[string]any{"model": "tiny", "input": dataURL([]byte("nope")), "modality": "image"}, 400, "invalid_image"},
		{"bad base64", "/v1/embeddings", map[string]any{"model": "tiny", "input": "data:image/png;base64,@@@", "modality": "image"}, 400, "invalid_request"},
		{"classify no labels", "/v1/classify", map[string]any{"images": []string{"x"}}, 400, "invalid_request"},
		{"template without {}", "/v1/classify", map[string]any{"images": []string{"x"}, "labels": []string{"a"}, "templates": []string{"a photo"}}, 400, "invalid_request"},
		{"search both", "/v1/search", map[string]any{"text": "a", "image": "b"}, 400, "invalid_request"},
		{"search k", "/v1/search", map[string]any{"text": "a", "k": 5000}, 400, "invalid_request"},
	}
	for _, c := range cases {
		var e apiError
		if got := f.post(t, c.path, c.body, nil, &e); got != c.status || e.Error.Code != c.code || e.Error.Message == "" {
			t.Errorf("%s: %d %+v, want %d %s", c.name, got, e, c.status, c.code)
		}
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{{"GET", "/v1/embeddings", 405}, {"DELETE", "/v1/search", 405}, {"GET", "/v1/nothing", 404}, {"GET", "/v1/thumbnails/99", 404}, {"GET", "/v1/thumbnails/-1", 404}, {"GET", "/v1/search?q=", 400}} {
		req, _ := http.NewRequest(c.method, f.ts.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e apiError
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != c.status || err != nil || e.Error.Message == "" {
			t.Errorf("%s %s: %d %v %+v", c.method, c.path, resp.StatusCode, err, e)
		}
	}
	req, _ := http.NewRequest("POST", f.ts.URL+"/v1/embeddings", strings.NewReader(`{"model":"tiny","input":"a"}`))
	req.Header.Set("Content-Type", "text/plain")
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 415 {
		t.Errorf("text/plain body: %d", resp.StatusCode)
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.APIKey = "s3cret" })
	body := map[string]any{"model": "tiny", "input": "a"}
	var e apiError
	if code := f.post(t, "/v1/embeddings", body, nil, &e); code != 401 || e.Error.Code != "invalid_api_key" {
		t.Fatalf("no key: %d %+v", code, e)
	}
	if code := f.post(t, "/v1/embeddings", body, map[string]string{"Authorization": "Bearer s3cre"}, nil); code != 401 {
		t.Fatalf("wrong key: %d", code)
	}
	if code := f.post(t, "/v1/embeddings", body, map[string]string{"Authorization": "s3cret"}, nil); code != 401 {
		t.Fatalf("key without Bearer: %d", code)
	}
	if code := f.post(t, "/v1/embeddings", body, map[string]string{"Authorization": "Bearer s3cret"}, nil); code != 200 {
		t.Fatalf("right key: %d", code)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/"} {
		if resp, err := http.Get(f.ts.URL + p); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s without a key: %v %v", p, resp.StatusCode, err)
		}
	}
	if resp, _ := http.Get(f.ts.URL + "/v1/thumbnails/0"); resp.StatusCode != 401 {
		t.Fatalf("thumbnail without a key: %d", resp.StatusCode)
	}
}

// Search, classify, thumbnails and the page over HTTP.
func TestSearchClassifyThumbnails(t *testing.T) {
	f := newFixture(t, nil)
	b, _ := os.ReadFile(f.images[2])
	var res struct {
		Data []searchHit `json:"data"`
	}
	if code := f.post(t, "/v1/search", map[string]any{"image": dataURL(b), "k": 2}, nil, &res); code != 200 || len(res.Data) != 2 {
		t.Fatalf("image search: %d %+v", code, res)
	}
	if res.Data[0].Path != f.images[2] || res.Data[0].Score < 0.99999 || res.Data[0].Thumbnail == "" {
		t.Fatalf("image search top hit %+v", res.Data[0])
	}
	resp, err := http.Get(f.ts.URL + "/v1/search?q=a+photo&k=3")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("text search: %v", err)
	}
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if len(res.Data) != 3 || res.Data[0].Score < res.Data[1].Score {
		t.Fatalf("text search %+v", res.Data)
	}
	var cl struct {
		Data []classifyResult `json:"data"`
	}
	labels := []string{"cat", "dog", "car"}
	if code := f.post(t, "/v1/classify", map[string]any{"images": []string{dataURL(b)}, "labels": labels, "templates": []string{"a photo of a {}."}}, nil, &cl); code != 200 {
		t.Fatalf("classify: %d", code)
	}
	zs, _ := clip.NewClassifier(context.Background(), f.model, labels, &clip.ClassifierOptions{Templates: []string{"a photo of a {}."}})
	px, _ := f.proc.File(f.images[2])
	iv, _ := f.model.EmbedPixels(context.Background(), px)
	want, _ := zs.Classify(iv, 0)
	var sum float32
	for i, p := range cl.Data[0].Labels {
		sum += p.Prob
		if p.Class != want[0][i].Class || math.Abs(float64(p.Prob-want[0][i].Prob)) > 1e-5 {
			t.Fatalf("classify %+v, library %+v", cl.Data[0].Labels, want[0])
		}
	}
	if math.Abs(float64(sum-1)) > 1e-5 {
		t.Fatalf("probabilities sum to %v", sum)
	}
	resp, err = http.Get(f.ts.URL + res.Data[0].Thumbnail)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("thumbnail: %v %v", err, resp.Header)
	}
	if _, _, err := image.Decode(resp.Body); err != nil {
		t.Fatalf("thumbnail is not an image: %v", err)
	}
	resp.Body.Close()
	resp, _ = http.Get(f.ts.URL + "/")
	page, _ := io.ReadAll(resp.Body)
	if !bytes.Contains(page, []byte(`id="q"`)) || bytes.Contains(page, []byte("http://")) || bytes.Contains(page, []byte("https://")) {
		t.Fatal("page is not the self-contained search page")
	}
}

// A file of an indexed row replaced by a symbolic link leading outside
// the indexed folders is not served.
func TestThumbnailOutsideRoots(t *testing.T) {
	f := newFixture(t, nil)
	outside := filepath.Join(f.dir, "secret.png")
	os.WriteFile(outside, pngImage(1), 0o644)
	os.Remove(f.images[0])
	if err := os.Symlink(outside, f.images[0]); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	row := -1
	for i := range f.srv.cfg.Index.Len() {
		if f.srv.cfg.Index.Record(i).Path == f.images[0] {
			row = i
		}
	}
	resp, err := http.Get(fmt.Sprintf("%s/v1/thumbnails/%d", f.ts.URL, row))
	if err != nil || resp.StatusCode != 403 {
		t.Fatalf("symlink out of the roots: %v %d", err, resp.StatusCode)
	}
	for _, p := range []string{"/v1/thumbnails/..%2f..%2fetc%2fpasswd", "/v1/thumbnails/" + url0(outside)} {
		if resp, _ := http.Get(f.ts.URL + p); resp.StatusCode != 404 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
}

func url0(p string) string { return strings.ReplaceAll(p, "/", "%2f") }

// Remote image URLs: fetched only from allow-listed hosts, and a redirect
// to another host is refused (the image server here is another loopback
// listener; no outside network is used).
func TestAllowHosts(t *testing.T) {
	img := pngImage(1)
	imgSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "http://localhost:1/elsewhere.png", http.StatusFound)
			return
		}
		w.Write(img)
	}))
	defer imgSrv.Close()
	f := newFixture(t, func(c *Config) { c.AllowHosts = []string{"127.0.0.1"} })
	var r embResp
	if code := f.post(t, "/v1/embeddings", map[string]any{"model": "tiny", "modality": "image", "input": imgSrv.URL + "/a.png"}, nil, &r); code != 200 {
		t.Fatalf("allowed host: %d", code)
	}
	var want embResp
	f.post(t, "/v1/embeddings", map[string]any{"model": "tiny", "modality": "image", "input": dataURL(img)}, nil, &want)
	if c := cosine(r.vec(t, 0), want.vec(t, 0)); c < 0.99999 {
		t.Fatalf("fetched image differs from the data: URL: cosine %v", c)
	}
	var e apiError
	if code := f.post(t, "/v1/embeddings", map[string]any{"model": "tiny", "modality": "image", "input": imgSrv.URL + "/redirect"}, nil, &e); code != 502 {
		t.Fatalf("redirect to another host: %d %+v", code, e)
	}
	other := strings.Replace(imgSrv.URL, "127.0.0.1", "localhost", 1)
	if code := f.post(t, "/v1/embeddings", map[string]any{"model": "tiny", "modality": "image", "input": other + "/a.png"}, nil, &e); code != 403 {
		t.Fatalf("host not on the list: %d", code)
	}
}
