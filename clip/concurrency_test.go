package clip

import (
	"context"
	"sync"
	"testing"

	"github.com/goclip/goclip/synth"
)

// TestConcurrentUse runs embeddings from several goroutines on one Model
// (run with -race): results must equal the sequential ones exactly.
func TestConcurrentUse(t *testing.T) {
	m := loadOrFatal(t, tinyDir(t))
	ctx := context.Background()
	s := m.ImageSize()
	px := synth.Tensor("pixels.weight", []int{3, 3, s, s}, 9)
	ids := [][]int32{{49406, 320, 1125, 539, 320, 2368, 49407}, {49406, 49407}, {49406, 1929, 49407, 49407}}
	wantImg, err := m.EmbedPixels(ctx, px)
	if err != nil {
		t.Fatal(err)
	}
	wantTxt, err := m.EmbedTokens(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 3; r++ {
				img, err := m.EmbedPixels(ctx, px)
				if err != nil || !equalRows(img, wantImg) {
					errs <- "image embeddings differ under concurrency"
					return
				}
				txt, err := m.EmbedTokens(ctx, ids)
				if err != nil || !equalRows(txt, wantTxt) {
					errs <- "text embeddings differ under concurrency"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestBatchIndependence checks that an input's embedding does not depend
// on the rest of its batch or on padding after EOS, across chunk sizes.
func TestBatchIndependence(t *testing.T) {
	m := loadOrFatal(t, tinyDir(t))
	ctx := context.Background()
	s := m.ImageSize()
	c := m.imagesPerChunk()
	n := c + 3 // spans two chunks
	px := synth.Tensor("pixels.weight", []int{n, 3, s, s}, 4)
	all, err := m.EmbedPixels(ctx, px)
	if err != nil {
		t.Fatal(err)
	}
	per := 3 * s * s
	for _, i := range []int{0, c - 1, c, n - 1} {
		one, err := m.EmbedPixels(ctx, px[i*per:(i+1)*per])
		if err != nil {
			t.Fatal(err)
		}
		// 1e-6: the GEMM kernels may block rows differently for another
		// batch size, changing the summation order; embeddings are O(1), so
		// this is a few ulps, far below any real batching bug.
		if !closeRows(one[0], all[i], 1e-6) {
			t.Errorf("image %d: alone %v, in batch %v", i, one[0][:4], all[i][:4])
		}
	}
	short := []int32{49406, 320, 1125, 49407}
	padded := append(append([]int32(nil), short...), 49407, 49407, 49407)
	zeros := append(append([]int32(nil), short...), 0, 0)
	got, err := m.EmbedTokens(ctx, [][]int32{short, padded, zeros, {49406, 49407}})
	if err != nil {
		t.Fatal(err)
	}
	if !equalRows(got[:1], got[1:2]) || !equalRows(got[:1], got[2:3]) {
		t.Error("padding after EOS changes the text embedding")
	}
}

func equalRows(a, b [][]float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !closeRows(a[i], b[i], 0) {
			return false
		}
	}
	return true
}

// closeRows compares two rows with an absolute tolerance (0: exact).
func closeRows(a, b []float32, tol float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}
