package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/hub/hubtest"
)

// TestLoadModelFromHub serves a synthetic model from a fake Hub, opens it
// by id (downloaded into HF_HUB_CACHE), then again with an endpoint that
// fails the test if contacted: the cached snapshot is used.
func TestLoadModelFromHub(t *testing.T) {
	dir := tinyModel(t)
	files := map[string][]byte{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	srv := hubtest.New()
	defer srv.Close()
	commit := srv.AddRepo("model", "goclip-test/tiny-clip", files)
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_OFFLINE", "")

	if _, err := loadModelT(t, "goclip-test/tiny-clip"); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(cache, "models--goclip-test--tiny-clip", "snapshots", commit)
	for name, want := range files {
		if !strings.HasSuffix(name, ".json") && name != "model.safetensors" && name != "merges.txt" {
			continue
		}
		got, err := os.ReadFile(filepath.Join(snap, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: not in the cache snapshot (%v)", name, err)
		}
	}

	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("network used for a cached model: %s %s", r.Method, r.URL)
	}))
	defer fail.Close()
	t.Setenv("HF_ENDPOINT", fail.URL)
	if _, err := loadModelT(t, "goclip-test/tiny-clip"); err != nil {
		t.Fatal(err)
	}
	if _, err := loadModelT(t, "goclip-test/tiny-clip@"+commit); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	if _, err := loadModelT(t, "goclip-test/other"); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Errorf("uncached model offline: %v", err)
	}
}

// loadModelT calls loadModel, closing the model it returns.
func loadModelT(t *testing.T, spec string) (*clip.Model, error) {
	t.Helper()
	var stderr bytes.Buffer
	m, _, err := loadModel(context.Background(), spec, &stderr)
	if err == nil {
		m.Close()
	}
	return m, err
}
