package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/goclip/goclip/internal/heaptest"
)

// TestSimilarityMemoryPerSample: `similarity --dataset --sample 80
// --heatmap` on 512×512 images (1 MiB each decoded) must not hold every
// decoded image: it keeps an embedding and a heatmap thumbnail per sample
// and decodes simBatch (16) images at a time. All 80 decoded at once is
// 80 MiB (main before the fix: 127 MiB at 120 samples); the bound, 48 MiB,
// is three batches' worth (one batch being
// decoded and preprocessed, the pixel tensors, garbage awaiting GC).
func TestSimilarityMemoryPerSample(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 80 MiB of images")
	}
	model, _ := tinyModelAndImages(t, 0)
	const n, side = 80, 512
	classes := []string{"red", "green", "blue"}
	// One encoded image for every sample: each is still decoded on its own.
	im := image.NewRGBA(image.Rect(0, 0, side, side))
	for p := 0; p < len(im.Pix); p += 4 {
		im.Pix[p], im.Pix[p+1], im.Pix[p+2], im.Pix[p+3] = uint8(p>>11), uint8(p>>3), 90, 255
	}
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	images, labels := make([][]byte, n), make([]int, n)
	for k := range n {
		images[k], labels[k] = b.Bytes(), k%len(classes)
	}
	ds := t.TempDir()
	writeWDS(t, ds, "png", images, labels, []int{n}, classes, nil)
	images = nil
	out := filepath.Join(t.TempDir(), "h.png")
	var runErr error
	grew := heaptest.PeakGrowth(func() {
		runErr = run(context.Background(), []string{"similarity", "--model", model, "--dataset", ds, "--sample", "80", "--heatmap", out, "--json"}, io.Discard, io.Discard)
	})
	if runErr != nil {
		t.Fatal(runErr)
	}
	t.Logf("heap grew by %.1f MiB at peak for %d samples of %d×%d px", float64(grew)/(1<<20), n, side, side)
	if grew > 48<<20 {
		t.Errorf("heap grew by %d MiB: the decoded images are kept (80 MiB for all)", grew>>20)
	}
	if f, err := os.Open(out); err != nil {
		t.Fatal(err)
	} else if _, err := png.Decode(f); err != nil {
		t.Fatalf("heatmap: %v", err)
	}
}
