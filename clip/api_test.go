package clip

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/goclip/goclip/imageproc"
)

// TestEmbedPathsAgree: EmbedFiles, EmbedImages of the decoded files and
// EmbedPixels of the processor's output are the same numbers (one decode,
// one preprocessing, one forward pass per image, whatever the entry
// point), and SkipBad leaves exactly the bad file's row nil.
func TestEmbedPathsAgree(t *testing.T) {
	m := loadOrFatal(t, tinyDir(t))
	defer m.Close()
	ctx := context.Background()
	bad := filepath.Join(t.TempDir(), "README.md")
	os.WriteFile(bad, []byte("not an image"), 0o644)
	files := []string{"../testdata/images/coffee_420.jpg", bad, "../testdata/images/camera_grey.png", "../testdata/images/chelsea_palette_trns.png"}

	if _, err := m.EmbedFiles(ctx, files, nil); !errorsAsFile(err, bad) {
		t.Fatalf("without SkipBad: err = %v, want a *FileError naming %s", err, bad)
	}
	got, err := m.EmbedFiles(ctx, files, &EmbedFilesOptions{SkipBad: true})
	if !errorsAsFile(err, bad) {
		t.Fatalf("SkipBad: err = %v, want a *FileError naming %s", err, bad)
	}
	if len(got) != 4 || got[1] != nil || got[0] == nil || got[2] == nil || got[3] == nil {
		t.Fatalf("SkipBad rows: %d, nil pattern wrong", len(got))
	}
	var imgs []image.Image
	var px []float32
	for _, f := range []string{files[0], files[2], files[3]} {
		img, err := imageproc.DecodeFile(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
		v, err := m.Processor().File(f)
		if err != nil {
			t.Fatal(err)
		}
		px = append(px, v...)
	}
	fromImages, err := m.EmbedImages(ctx, imgs)
	if err != nil {
		t.Fatal(err)
	}
	fromPixels, err := m.EmbedPixels(ctx, px)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float32{got[0], got[2], got[3]}
	if !reflect.DeepEqual(fromImages, want) || !reflect.DeepEqual(fromPixels, want) {
		t.Error("EmbedFiles, EmbedImages and EmbedPixels differ on the same files")
	}
}

func errorsAsFile(err error, path string) bool {
	var fe *FileError
	return errors.As(err, &fe) && fe.Path == path
}

// TestSimilarityRankNormalized checks the helpers' arithmetic on vectors
// whose answers are known exactly, and that rows of different lengths
// are an error instead of a cosine over a common prefix.
func TestSimilarityRankNormalized(t *testing.T) {
	a := [][]float32{{3, 4}, {0, 0}}
	b := [][]float32{{1, 0}, {0, 2}, {-6, -8}}
	s, err := Similarity(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]float32{{0.6, 0.8, -1}, {0, 0, 0}}; !reflect.DeepEqual(s, want) {
		t.Errorf("Similarity = %v, want %v", s, want)
	}
	n := Normalized(a)
	if !reflect.DeepEqual(n[0], []float32{0.6, 0.8}) || a[0][0] != 3 {
		t.Errorf("Normalized = %v (input now %v)", n, a)
	}
	r, err := Rank([]float32{3, 4}, b, 2)
	if err != nil || len(r) != 2 || r[0] != (Match{1, 0.8}) || r[1] != (Match{0, 0.6}) {
		t.Errorf("Rank = %v, %v", r, err)
	}
	tie, _ := Rank([]float32{1, 0}, [][]float32{{0, 1}, {2, 0}, {1, 0}}, 0)
	if tie[0].Index != 1 || tie[1].Index != 2 || tie[2].Index != 0 {
		t.Errorf("ties must keep the lower index first: %v", tie)
	}
	ragged := [][]float32{{1, 2, 3}}
	if _, err := Similarity(a, ragged); err == nil {
		t.Error("Similarity of 2- and 3-long rows accepted")
	}
	if _, err := Rank([]float32{1, 2}, ragged, 1); err == nil {
		t.Error("Rank of a 2-long query among 3-long rows accepted")
	}
}

// TestCloseWhileInFlight: Close during long calls waits for them; each
// call either completes or returns ErrClosed, never crashes on unmapped
// weights (run under -race by .ci/run), and calls after Close fail fast.
func TestCloseWhileInFlight(t *testing.T) {
	m := loadOrFatal(t, tinyDir(t))
	ctx := context.Background()
	px := make([]float32, 200*3*m.ImageSize()*m.ImageSize()) // several batches per call
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	started := make(chan struct{}, 4)
	for range 4 {
		wg.Go(func() {
			started <- struct{}{}
			_, err := m.EmbedPixels(ctx, px)
			errs <- err
		})
	}
	for range 4 {
		<-started
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if m.inflight != 0 {
		t.Errorf("Close returned with %d calls in flight", m.inflight)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("call in flight: %v", err)
		}
	}
	if _, err := m.EmbedTexts(ctx, []string{"late"}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
