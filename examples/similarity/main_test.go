package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/hub"
	"github.com/goclip/goclip/hub/hubtest"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/fakewds"
	"github.com/goclip/goclip/synth"
)

const (
	modelID   = "openai/clip-vit-base-patch32"
	datasetID = "clip-benchmark/wds_imagenetv2"
)

// TestSeedExperimentTiny runs the whole experiment with the tiny synthetic
// model: fast enough for every run.
func TestSeedExperimentTiny(t *testing.T) { testSeedExperiment(t, synth.Tiny()) }

// TestSeedExperimentB32 is the acceptance test with a full-size
// ViT-B/32 (synthetic weights, 605 MB): `go run ./examples/similarity`
// against a fake Hub, from a corrupted file to a cache-only rerun.
func TestSeedExperimentB32(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size B/32 model (605 MB download through the fake Hub); run without -short")
	}
	testSeedExperiment(t, synth.B32())
}

// testSeedExperiment serves a synthetic model as openai/clip-vit-base-patch32
// and an ImageNetV2-shaped dataset as clip-benchmark/wds_imagenetv2 from a
// fake Hub, then runs the example with --sample 10 --seed 1:
//  1. a corrupted config.json fails its checksum and is not cached;
//  2. the model download is interrupted (connection dropped, then Ctrl-C);
//  3. the next run resumes it with a Range request and prints the matrix,
//     checked against cosines computed here from independently obtained
//     embeddings; the heatmap PNG decodes;
//  4. a run with a Hub that fails the test if contacted uses the cache only.
func testSeedExperiment(t *testing.T, cfg synth.Config) {
	for _, k := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HUGGINGFACE_HUB_CACHE"} {
		t.Setenv(k, "")
	}
	t.Setenv("HF_HOME", t.TempDir())
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)

	srv := hubtest.New()
	defer srv.Close()
	t.Setenv("HF_ENDPOINT", srv.URL)
	modelDir := filepath.Join(t.TempDir(), "model")
	if err := synth.WriteModel(modelDir, cfg, 1); err != nil {
		t.Fatal(err)
	}
	weightsSize, weightsSum := publishModel(t, srv, modelDir)
	dsFiles, samples, err := fakewds.ImageNetV2(&fakewds.Options{Photos: filepath.Join("..", "..", "testdata", "images")})
	if err != nil {
		t.Fatal(err)
	}
	srv.AddRepo("dataset", datasetID, dsFiles)

	work := t.TempDir()
	heat := filepath.Join(work, "similarity.png")
	args := []string{"--sample", "10", "--seed", "1", "--heatmap", heat}
	storage := filepath.Join(cache, hub.RepoFolderName(modelID, hub.Model))

	// 1. A corrupted file fails its checksum and is not used.
	srv.Corrupt("config.json", true)
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), args, &stdout, &stderr)
	if !errors.Is(err, hub.ErrChecksum) {
		t.Fatalf("corrupted config.json: err = %v, want a checksum error", err)
	}
	if got, _ := filepath.Glob(filepath.Join(storage, "snapshots", "*", "config.json")); len(got) > 0 {
		t.Fatalf("corrupted file entered the cache: %v", got)
	}
	if got, _ := filepath.Glob(filepath.Join(storage, "blobs", "*")); len(got) > 0 {
		t.Fatalf("corrupted download left blobs: %v", got)
	}
	srv.Corrupt("config.json", false)

	// 2. The weights download is cut: the connection drops at a third, and
	// while the client waits to resume, the user presses Ctrl-C.
	dropAt := weightsSize / 3
	srv.DropAfter("model.safetensors", dropAt)
	ctx, cancel := context.WithCancel(context.Background())
	stopWatch := watchPartial(filepath.Join(storage, "blobs"), dropAt, cancel)
	err = run(ctx, args, io.Discard, io.Discard)
	stopWatch()
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v, want context.Canceled", err)
	}
	partial, _ := filepath.Glob(filepath.Join(storage, "blobs", "*.incomplete"))
	if len(partial) != 1 {
		t.Fatalf("after the interruption: partial files %v, want one", partial)
	}
	st, err := os.Stat(partial[0])
	if err != nil || st.Size() < dropAt || st.Size() >= weightsSize {
		t.Fatalf("partial file: %v, size %d (dropped at %d of %d)", err, st.Size(), dropAt, weightsSize)
	}
	resumeFrom := st.Size()

	// 3. The next run resumes and completes.
	before := len(srv.Requests())
	stdout.Reset()
	stderr.Reset()
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
	}
	var ranges []string
	for _, r := range srv.Requests()[before:] {
		if r.Method == http.MethodGet && strings.Contains(r.Path, weightsSum) {
			ranges = append(ranges, r.Range)
		}
	}
	if want := "bytes=" + strconv.FormatInt(resumeFrom, 10) + "-"; len(ranges) != 1 || ranges[0] != want {
		t.Errorf("weights GETs after the interruption: ranges %q, want one %q (a resume, not a restart)", ranges, want)
	}
	if !strings.Contains(stderr.String(), "resuming model.safetensors") {
		t.Errorf("stderr does not report the resume:\n%s", stderr.String())
	}
	snap, _ := filepath.Glob(filepath.Join(storage, "snapshots", "*", "model.safetensors"))
	if len(snap) != 1 || fileSHA256(t, snap[0]) != weightsSum {
		t.Fatalf("cached weights %v differ from the served ones", snap)
	}
	first := stdout.String()
	checkOutput(t, first, modelDir, samples)
	checkHeatmap(t, heat)

	// 4. Everything is cached: a Hub that fails when contacted is not contacted.
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("network used with a warm cache: %s %s", r.Method, r.URL)
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer fail.Close()
	t.Setenv("HF_ENDPOINT", fail.URL)
	stdout.Reset()
	if err := run(context.Background(), args, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != first {
		t.Errorf("cache-only run printed\n%s\nthe first run\n%s", stdout.String(), first)
	}
}

// publishModel serves the model folder's files as modelID and returns the
// size and sha256 of its weights.
func publishModel(t *testing.T, srv *hubtest.Server, dir string) (int64, string) {
	t.Helper()
	files := map[string][]byte{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	w := files["model.safetensors"]
	if len(w) <= hubtest.LFSThreshold {
		t.Fatalf("weights of %d bytes: too small to be served as an LFS file", len(w))
	}
	srv.AddRepo("model", modelID, files)
	return int64(len(w)), hubtest.SHA256(w)
}

// watchPartial calls cancel once a partial download in blobs reaches at
// least n bytes. The client pauses a second at the dropped connection
// before resuming, which is when this sees the file.
func watchPartial(blobs string, n int64, cancel func()) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			ps, _ := filepath.Glob(filepath.Join(blobs, "*.incomplete"))
			for _, p := range ps {
				if st, err := os.Stat(p); err == nil && st.Size() >= n {
					cancel()
					return
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkOutput parses the printed matrix and the sampled keys, and compares
// the matrix with cosines of embeddings computed here from the model
// folder and the dataset's image bytes, normalised and multiplied in
// float64.
func checkOutput(t *testing.T, out, modelDir string, samples []fakewds.Sample) {
	t.Helper()
	lines := strings.Split(out, "\n")
	var matrix [][]float64
	var keys []string
	inMatrix := false
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "[["):
			inMatrix = true
		case strings.HasPrefix(l, "✓ "), strings.HasPrefix(l, "✗ "):
			keys = append(keys, strings.Fields(l)[1])
		}
		if !inMatrix {
			continue
		}
		if strings.HasPrefix(l, " [") || strings.HasPrefix(l, "[[") {
			matrix = append(matrix, nil)
		}
		for _, f := range strings.Fields(strings.Trim(l, "[] ")) {
			v, err := strconv.ParseFloat(strings.Trim(f, "[]"), 32)
			if err != nil {
				t.Fatalf("matrix line %q: %v", l, err)
			}
			matrix[len(matrix)-1] = append(matrix[len(matrix)-1], v)
		}
		if strings.HasSuffix(l, "]]") {
			inMatrix = false
		}
	}
	if len(matrix) != 10 || len(keys) != 10 {
		t.Fatalf("printed %d matrix rows and %d zero-shot lines, want 10 each:\n%s", len(matrix), len(keys), out)
	}
	byKey := map[string]fakewds.Sample{}
	for _, s := range samples {
		byKey[s.Key] = s
	}
	m, err := clip.Load(modelDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	proc, err := imageproc.LoadProcessor(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	var pixels []float32
	var names []string
	seen := map[string]bool{}
	for _, k := range keys {
		s, ok := byKey[k]
		if !ok || seen[k] {
			t.Fatalf("sampled key %q unknown or repeated (keys %v)", k, keys)
		}
		seen[k] = true
		px, err := proc.Reader(bytes.NewReader(s.Image))
		if err != nil {
			t.Fatal(err)
		}
		pixels = append(pixels, px...)
		names = append(names, clip.ImageNetClasses()[s.Label])
	}
	ctx := context.Background()
	img, err := m.EmbedPixels(ctx, pixels)
	if err != nil {
		t.Fatal(err)
	}
	txt, err := m.EmbedTexts(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "image embeddings (10, "+strconv.Itoa(m.EmbedDim())+")") {
		t.Errorf("embedding shapes not printed:\n%s", out)
	}
	unit := func(v []float32) []float64 {
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x) / math.Sqrt(n)
		}
		return out
	}
	for i := range img {
		a := unit(img[i])
		if len(matrix[i]) != 10 {
			t.Fatalf("row %d has %d values", i, len(matrix[i]))
		}
		for j := range txt {
			b := unit(txt[j])
			var want float64
			for k := range a {
				want += a[k] * b[k]
			}
			// The example normalises and multiplies in float32: with
			// unit vectors of up to 512 components the rounding of the
			// norms and of the sum stays below 1e-6 (about 16 float32
			// ulps at 1); 2e-6 adds the printed value's own rounding.
			if d := math.Abs(matrix[i][j] - want); d > 2e-6 {
				t.Errorf("similarity[%d][%d] printed %v, computed %v (diff %.2g)", i, j, matrix[i][j], want, d)
			}
		}
	}
}

// checkHeatmap decodes the heatmap: ten 72-px rows and columns (with
// labels, thumbnails and a colour bar around them), with the colour
// map's red and blue ends present.
func checkHeatmap(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("heatmap: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 10*72+72 || b.Dy() < 10*72 || b.Dx() > 2400 || b.Dy() > 2400 {
		t.Errorf("heatmap is %v; want room for 10×10 cells of 72 px, labels and thumbnails", b)
	}
	var red, blue int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r > 150 && g < 60 && bl < 60 {
				red++
			}
			if bl > 100 && r < 60 && g < 100 {
				blue++
			}
		}
	}
	// At least a third of a cell each: the highest and lowest cells.
	if red < 72*72/3 || blue < 72*72/3 {
		t.Errorf("heatmap has %d deep-red and %d deep-blue pixels; want the colour map's two ends", red, blue)
	}
}
