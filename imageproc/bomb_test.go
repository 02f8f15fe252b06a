package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// bombImage encodes a w×h image in format. WebP has no Go encoder: a
// VP8L (lossless) header declaring w×h is written, followed by garbage;
// the aspect check runs on the header, before any decoding.
func bombImage(t testing.TB, format string, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)))
	case "gif":
		err = gif.Encode(&b, image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White}), nil)
	case "jpeg":
		err = jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)), nil)
	case "bmp":
		err = bmp.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)))
	case "tiff":
		err = tiff.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)), nil)
	case "webp":
		bits := uint32(w-1) | uint32(h-1)<<14 // 14-bit sizes, no alpha, version 0
		var hdr [5]byte
		hdr[0] = 0x2f
		binary.LittleEndian.PutUint32(hdr[1:], bits)
		chunk := append(hdr[:], make([]byte, 64)...)
		b.WriteString("RIFF")
		binary.Write(&b, binary.LittleEndian, uint32(4+8+len(chunk)))
		b.WriteString("WEBPVP8L")
		binary.Write(&b, binary.LittleEndian, uint32(len(chunk)))
		b.Write(chunk)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestAspectBombEveryFormat: 1×N and N×1 images (N at each format's
// largest side: 65535, 16383 for WebP) are far under the pixel limit but
// would resize to a side of 224·N. They are refused from the header, with
// ErrAspect, before decoding. On the code before the aspect limit these
// images were decoded and resized (the resize taps looping over the whole
// 224·N side), and no error was returned.
func TestAspectBombEveryFormat(t *testing.T) {
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"png", "gif", "jpeg", "bmp", "tiff", "webp"} {
		n := 65535
		if format == "webp" {
			n = 16383
		}
		for _, sz := range [][2]int{{1, n}, {n, 1}} {
			data := bombImage(t, format, sz[0], sz[1])
			start := time.Now()
			_, err := p.Reader(bytes.NewReader(data))
			var de *DecodeError
			if !errors.Is(err, ErrAspect) || !errors.Is(err, ErrTooLarge) || !errors.As(err, &de) {
				t.Errorf("%s %dx%d: err = %v, want a *DecodeError wrapping ErrAspect", format, sz[0], sz[1], err)
				continue
			}
			if d := time.Since(start); d > 2*timeScale*time.Second {
				t.Errorf("%s %dx%d: refused after %v; the header check should be immediate", format, sz[0], sz[1], d)
			}
		}
	}
}

// TestAspectBombPNG10M is the reported case: a 10,000,000×1 PNG (10 kB)
// took 13.7 s in makeTaps. It is refused at once, and so is the same
// picture handed over as an image.Image.
func TestAspectBombPNG10M(t *testing.T) {
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 10_000_000, 1))
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := p.Reader(&b); !errors.Is(err, ErrAspect) {
		t.Errorf("Reader: err = %v, want ErrAspect", err)
	}
	if _, err := p.Image(img); !errors.Is(err, ErrAspect) {
		t.Errorf("Image: err = %v, want ErrAspect", err)
	}
	if d := time.Since(start); d > 5*timeScale*time.Second {
		t.Errorf("refusing took %v", d)
	}
}

// TestAspectWithinLimit: an image at the limit (1×10000 and 10000×1) is
// processed, fast, and Reader agrees with Image on the decoded pixels.
func TestAspectWithinLimit(t *testing.T) {
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, sz := range [][2]int{{1, DefaultMaxAspect}, {DefaultMaxAspect, 1}} {
		img := image.NewGray(image.Rect(0, 0, sz[0], sz[1]))
		for i := range img.Pix {
			img.Pix[i] = uint8(i * 7)
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got, err := p.Reader(&b)
		if err != nil {
			t.Fatalf("%v: %v", sz, err)
		}
		if d := time.Since(start); d > 5*timeScale*time.Second {
			t.Errorf("%v: took %v", sz, d)
		}
		want, err := p.Image(img)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%v: Reader and Image differ", sz)
		}
	}
	// With the limit lifted, a 1×20000 image is processed as well.
	q := p.WithDecodeOptions(&DecodeOptions{MaxAspect: -1})
	if _, err := q.Image(image.NewGray(image.Rect(0, 0, 1, 20000))); err != nil {
		t.Errorf("MaxAspect -1: %v", err)
	}
}

// makeTapsFull is makeTaps as it was before it computed only the window:
// every output's weights, the window's kept. The windowed version must
// give the same taps and precision.
func makeTapsFull(inSize, outSize, lo, hi int, mode weightMode) *taps {
	f := newTapFilter(inSize, outSize, mode)
	n := f.n
	t := &taps{start: make([]int, hi-lo), size: make([]int, hi-lo), n: n, w: make([]int32, (hi-lo)*n)}
	wf := make([]float64, (hi-lo)*n)
	wmax := 0.0
	k := make([]float64, n)
	for i := 0; i < outSize; i++ {
		xmin, xsize := f.weights(i, k)
		for _, v := range k[:xsize] {
			wmax = max(wmax, v)
		}
		if i >= lo && i < hi {
			t.start[i-lo], t.size[i-lo] = xmin, xsize
			copy(wf[(i-lo)*n:], k[:xsize])
		}
	}
	t.prec = 22
	if mode == weightsTorch {
		var p uint
		for p = 0; p < 22; p++ {
			if int(0.5+float64(wmax*float64(int(1)<<(p+1)))) >= 1<<15 {
				break
			}
		}
		t.prec = p
	}
	one := float64(int(1) << t.prec)
	for i, v := range wf {
		v = float64(v * one)
		if v < 0 {
			t.w[i] = int32(-0.5 + v)
		} else {
			t.w[i] = int32(0.5 + v)
		}
	}
	return t
}

func TestMakeTapsWindowMatchesFull(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < 2000; trial++ {
		in, out := 1+rng.Intn(3000), 1+rng.Intn(3000)
		lo := rng.Intn(out)
		hi := lo + 1 + rng.Intn(out-lo)
		for _, mode := range []weightMode{weightsTorch, weightsPillow} {
			got, want := makeTaps(in, out, lo, hi, mode), makeTapsFull(in, out, lo, hi, mode)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("makeTaps(%d, %d, %d, %d, %d) differs from the full computation", in, out, lo, hi, mode)
			}
		}
	}
}

// TestMakeTapsPillowWindowOnly: with Pillow's fixed precision the work is
// proportional to the window, not to the output side (10^12 here; the
// full loop would run for hours).
func TestMakeTapsPillowWindowOnly(t *testing.T) {
	done := make(chan *taps, 1)
	go func() {
		done <- makeTaps(1_000_000, 1_000_000_000_000, 500_000_000_000, 500_000_000_224, weightsPillow)
	}()
	select {
	case tp := <-done:
		if len(tp.start) != 224 || tp.prec != 22 {
			t.Errorf("got %d outputs, precision %d", len(tp.start), tp.prec)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("makeTaps of a 224-wide window of a 10^12 side did not finish in 10 s")
	}
}

// TestDecodeBudgetBoundsMemory: eight 16-bit 2048×2048 PNGs (32 MiB each
// decoded, a few kB encoded) decoded by eight goroutines. With a 40 MiB
// budget one is decoded at a time, so the heap stays near one image; the
// code before the budget decoded all eight at once (over 256 MiB live).
// The heap is sampled every millisecond with a low GC percentage so that
// garbage does not mask the live size.
func TestDecodeBudgetBoundsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 256 MiB over the run")
	}
	img := image.NewNRGBA64(image.Rect(0, 0, 2048, 2048))
	for i := range img.Pix {
		img.Pix[i] = uint8(i >> 12)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	img = nil
	path := filepath.Join(t.TempDir(), "deep.png")
	if err := os.WriteFile(path, b.Bytes(), 0o666); err != nil {
		t.Fatal(err)
	}
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	const budgetBytes = 40 << 20
	p = p.WithDecodeOptions(&DecodeOptions{DecodeBudget: budgetBytes})
	p.workers = 8
	paths := make([]string, 8)
	for i := range paths {
		paths[i] = path
	}
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	_, err = p.Files(t.Context(), paths)
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("heap grew by %.0f MiB at peak (budget %d MiB, %d MiB per decoded image); admitted at most %d MiB",
		float64(grew)/(1<<20), budgetBytes>>20, 32, p.budget.peak>>20)
	if p.budget.peak > budgetBytes {
		t.Errorf("admitted %d bytes at once, budget %d", p.budget.peak, budgetBytes)
	}
	// One image in flight is 32 MiB decoded; three would be 96 MiB. Eight
	// at once (no budget) is 256 MiB.
	if grew > 100<<20 {
		t.Errorf("heap grew by %d MiB: more than about two decoded images were live", grew>>20)
	}
}
