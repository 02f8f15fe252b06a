package imageproc

import (
	"bytes"
	"path/filepath"
	"testing"
)

// fuzzLimits keeps fuzzed headers from asking for huge (legal) images, so
// a run finds crashes rather than spending its time allocating.
var fuzzLimits = DecodeOptions{MaxPixels: 1 << 22, MaxBytes: 1 << 22, Name: "fuzz"}

func addImageSeeds(f *testing.F) {
	for _, name := range testImages(&testing.T{}, filepath.Join("..", "testdata", "images")) {
		f.Add(readTestImage(f, name))
	}
}

// FuzzDecode: any input gives an image or a *DecodeError, never a panic,
// and a decoded image has the declared size in its pixels.
func FuzzDecode(f *testing.F) {
	addImageSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(bytes.NewReader(data), &fuzzLimits)
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			return
		}
		if w, h := img.Rect.Dx(), img.Rect.Dy(); w <= 0 || h <= 0 || len(img.Pix) != 3*w*h {
			t.Fatalf("decoded %v with %d bytes", img.Rect, len(img.Pix))
		}
	})
}

// FuzzPreprocess: decode + resize + crop + normalise of any input at a
// small size never panics and gives finite values.
func FuzzPreprocess(f *testing.F) {
	addImageSeeds(f)
	p, err := New(DefaultConfig(16))
	if err != nil {
		f.Fatal(err)
	}
	p = p.WithDecodeOptions(&fuzzLimits)
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := p.Reader(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(out) != 3*16*16 {
			t.Fatalf("%d values", len(out))
		}
		for _, v := range out {
			if v != v || v > 10 || v < -10 {
				t.Fatalf("value %v out of range", v)
			}
		}
	})
}

// FuzzParseConfig: any JSON gives a valid config or an error; a valid one
// makes a working processor.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{`{}`, `{"size": 224, "crop_size": 224}`,
		`{"size": {"shortest_edge": 40}, "crop_size": {"height": 48, "width": 48}}`,
		`{"do_resize": false, "crop_size": {"height": 20, "width": 20}, "image_mean": 0.5, "image_std": [1, 2, 3]}`,
		`{"size": {"height": 32, "width": 32}, "do_center_crop": false, "do_normalize": false}`} {
		f.Add([]byte(s))
	}
	img := NewRGB(image0().Add(image0().Min).Inset(-5))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return
		}
		if cfg.CropSize.Height > 256 || cfg.Size.Height > 256 || cfg.Size.Width > 256 || cfg.Size.ShortestEdge > 256 {
			return // valid but slow to run many times
		}
		p, err := New(cfg)
		if err != nil {
			t.Fatalf("ParseConfig accepted what New rejects: %v", err)
		}
		if _, err := p.Image(img); err != nil {
			t.Fatal(err)
		}
	})
}
