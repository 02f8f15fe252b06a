package serve

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/synth"
)

// TestNaFlexImageEmbeddings: a SigLIP 2 NaFlex model serves image
// embeddings (patch grids of each image's own shape, batched as
// pixblock blocks) equal to the library's EmbedFiles, up to the server's
// normalisation.
func TestNaFlexImageEmbeddings(t *testing.T) {
	dir := t.TempDir()
	cfg, err := synth.Preset("siglip2-tiny")
	if err != nil {
		t.Fatal(err)
	}
	if err := synth.WriteModel(filepath.Join(dir, "model"), cfg, 1); err != nil {
		t.Fatal(err)
	}
	m, err := clip.Load(filepath.Join(dir, "model"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv, err := New(Config{Model: m, ModelName: "s2", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer func() { ts.Close(); srv.Close() }()
	f := &fixture{model: m, srv: srv, ts: ts}
	var inputs, paths []string
	for k := range 3 {
		p := filepath.Join(dir, "img"+string(rune('0'+k))+".png")
		if err := os.WriteFile(p, pngImage(k), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		inputs = append(inputs, dataURL(pngImage(k)))
	}
	want, err := m.EmbedFiles(context.Background(), paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	var r embResp
	if code := f.post(t, "/v1/embeddings", map[string]any{"model": "s2", "input": inputs, "modality": "image"}, nil, &r); code != 200 || len(r.Data) != 3 {
		t.Fatalf("images: %d %+v", code, r)
	}
	for i := range paths {
		if c := cosine(r.vec(t, i), want[i]); c < 0.99999 {
			t.Fatalf("image %d: cosine %v with EmbedFiles", i, c)
		}
	}
}
