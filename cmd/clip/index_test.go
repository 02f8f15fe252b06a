package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/index"
)

// indexFiles returns the bytes of an index's manifest and data files.
func indexFiles(t *testing.T, dir string) string {
	t.Helper()
	ix, err := index.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := ix.Manifest()
	var all []byte
	for _, n := range []string{"manifest.json", m.Embeddings, m.Metadata} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return string(all)
}

// The real model through `clip index build` and `search`: every image
// finds itself first with the cosine of `clip embed`'s vector (≥ 0.99999:
// the index stores the same float32 embedding, normalised once), bad
// files are listed and skipped, and the index does not depend on the
// batch size — so a build resumed after an interruption, whose batches
// fall differently, gives the same bytes.
func TestIndexBuildSearch(t *testing.T) {
	model, paths := tinyModelAndImages(t, 5)
	src := t.TempDir()
	for i, p := range paths {
		b, _ := os.ReadFile(p)
		sub := filepath.Join(src, []string{"a", "b/c"}[i%2])
		os.MkdirAll(sub, 0o755)
		os.WriteFile(filepath.Join(sub, filepath.Base(p)), b, 0o644)
	}
	os.WriteFile(filepath.Join(src, "broken.jpg"), []byte("not a jpeg"), 0o644)
	ix1, ix2 := filepath.Join(t.TempDir(), "ix"), filepath.Join(t.TempDir(), "ix")
	for _, c := range []struct {
		dir, batch string
	}{{ix1, "2"}, {ix2, "3"}} {
		var so, se bytes.Buffer
		if err := run(context.Background(), []string{"index", "build", "--model", model, "--batch", c.batch, "--out", c.dir, src}, &so, &se); err != nil {
			t.Fatalf("build: %v\n%s", err, se.String())
		}
		if !strings.Contains(se.String(), "broken.jpg") || !strings.Contains(so.String(), "5 embedded") {
			t.Fatalf("build output:\n%s\n%s", so.String(), se.String())
		}
	}
	if indexFiles(t, ix1) != indexFiles(t, ix2) {
		t.Fatal("batch size 2 and 3 gave different index bytes")
	}
	m, err := clip.Load(model, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	proc, _ := imageproc.LoadProcessor(model)
	ix, _ := index.Open(ix1)
	for i := range ix.Len() {
		p := ix.Record(i).Path
		var so, se bytes.Buffer
		if err := run(context.Background(), []string{"index", "search", ix1, "--image", p, "--json", "--k", "2"}, &so, &se); err != nil {
			t.Fatalf("search: %v\n%s", err, se.String())
		}
		var res []searchResult
		if err := json.Unmarshal(so.Bytes(), &res); err != nil || len(res) != 2 {
			t.Fatalf("search output %q: %v", so.String(), err)
		}
		if res[0].Path != p || res[0].Score < 0.99999 {
			t.Fatalf("image %s: top hit %+v", p, res[0])
		}
		px, _ := proc.File(p)
		want, _ := m.EmbedPixels(context.Background(), px)
		hits, _ := ix.Search(want, 1)
		if hits[0][0].Row != i || hits[0][0].Score < 0.99999 {
			t.Fatalf("library embedding of %s: %+v", p, hits[0])
		}
	}
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"index", "search", ix1, "a photo of a cat", "--k", "3"}, &so, &se); err != nil {
		t.Fatalf("text search: %v\n%s", err, se.String())
	}
	if n := strings.Count(so.String(), "\n"); n != 3 {
		t.Fatalf("text search printed %d lines:\n%s", n, so.String())
	}
	if err := run(context.Background(), []string{"index", "search", ix1}, &so, &se); err == nil {
		t.Fatal("search without a query accepted")
	}
	out := filepath.Join(t.TempDir(), "x.faiss")
	if err := run(context.Background(), []string{"index", "export", "--format", "faiss", "--out", out, ix1}, &so, &se); err != nil {
		t.Fatalf("export: %v", err)
	}
	if b, _ := os.ReadFile(out); len(b) != 4+4+8+8+8+1+4+8+5*24*4 || string(b[:4]) != "IxFI" {
		t.Fatalf("FAISS file of %d bytes", len(b))
	}
}
