package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/hub/hubtest"
	"github.com/goclip/goclip/internal/fakewds"
)

// TestLoadModelFromHub serves a synthetic model from a fake Hub, opens it
// by id (downloaded into HF_HUB_CACHE), then again with an endpoint that
// fails the test if contacted: the cached snapshot is used.
func TestLoadModelFromHub(t *testing.T) {
	srv, files, cache := fakeHub(t)
	commit := srv.AddRepo("model", "goclip-test/tiny-clip", files)

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
	m, err := loadModel(context.Background(), spec, clip.F32, &stderr)
	if err == nil {
		m.Close()
	}
	return m, err
}

// fakeHub starts a fake Hub with the tiny synthetic model's files (not yet
// published: the caller names the repo) and points HF_ENDPOINT and
// HF_HUB_CACHE at it and a fresh cache.
func fakeHub(t *testing.T) (*hubtest.Server, map[string][]byte, string) {
	t.Helper()
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
	t.Cleanup(srv.Close)
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_OFFLINE", "")
	return srv, files, cache
}

// TestReadmeFirstCommand runs the README's first command, `clip similarity
// --model openai/clip-vit-base-patch32 --dataset clip-benchmark/wds_imagenetv2
// --sample 10 --seed 1 --heatmap similarity.png`, against a fake Hub serving
// the tiny synthetic model under that id and an ImageNetV2-shaped dataset;
// then offline (HF_HUB_OFFLINE=1), where it must print the same from the
// cache. (examples/similarity's test does the same with a full-size B/32.)
func TestReadmeFirstCommand(t *testing.T) {
	srv, files, _ := fakeHub(t)
	srv.AddRepo("model", defaultModel, files)
	ds, samples, err := fakewds.ImageNetV2(&fakewds.Options{Photos: filepath.Join("..", "..", "testdata", "images")})
	if err != nil {
		t.Fatal(err)
	}
	srv.AddRepo("dataset", "clip-benchmark/wds_imagenetv2", ds)
	heat := filepath.Join(t.TempDir(), "similarity.png")
	args := []string{"similarity", "--model", defaultModel, "--dataset", "clip-benchmark/wds_imagenetv2",
		"--sample", "10", "--seed", "1", "--heatmap", heat, "--json"}
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	for _, f := range []string{"model.safetensors", "test/0.tar", "test/1.tar", "classnames.txt"} {
		if !strings.Contains(errb.String(), "downloading "+f) {
			t.Errorf("stderr does not report downloading %s:\n%s", f, errb.String())
		}
	}
	var res struct {
		Images     []string    `json:"images"`
		Texts      []string    `json:"texts"`
		Similarity [][]float32 `json:"similarity"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Similarity) != 10 || len(res.Images) != 10 || len(res.Texts) != 10 {
		t.Fatalf("%d rows, %d images, %d texts; want 10", len(res.Similarity), len(res.Images), len(res.Texts))
	}
	label := map[string]string{}
	for _, s := range samples {
		label[s.Key] = clip.ImageNetClasses()[s.Label]
	}
	for i, img := range res.Images { // "s0000006 · lakeshore": the key and its class, which is the column text
		key, class, _ := strings.Cut(img, " · ")
		if label[key] == "" || class != label[key] || res.Texts[i] != class {
			t.Errorf("row %d: image %q, text %q; the dataset has %q as %q", i, img, res.Texts[i], key, label[key])
		}
	}
	if f, err := os.Open(heat); err != nil {
		t.Fatal(err)
	} else if _, err := png.Decode(f); err != nil {
		t.Errorf("heatmap: %v", err)
	}

	t.Setenv("HF_HUB_OFFLINE", "1")
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:1") // nothing listens there
	var out2 bytes.Buffer
	errb.Reset()
	if err := run(context.Background(), args, &out2, &errb); err != nil {
		t.Fatalf("offline: %v\n%s", err, errb.String())
	}
	if out2.String() != out.String() {
		t.Errorf("offline run printed\n%s\nonline\n%s", out2.String(), out.String())
	}
	if strings.Contains(errb.String(), "downloading") {
		t.Errorf("offline run downloaded:\n%s", errb.String())
	}
}
