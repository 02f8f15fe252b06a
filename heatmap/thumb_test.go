package heatmap

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// TestThumbnailsInsteadOfImages: a figure drawn from Thumbnail(im,
// ThumbnailSide(…)) (twice the side for SVG) is byte-identical to the one
// drawn from the full images, for images larger and smaller than the
// thumbnail, of every aspect, with and without alpha, at several matrix
// sizes (cell sizes) and an explicit Cell. This is what lets a caller keep
// thumbnails instead of decoded images.
func TestThumbnailsInsteadOfImages(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	mk := func(i int) image.Image {
		w, h := 1+rng.IntN(300), 1+rng.IntN(300)
		switch i % 4 {
		case 0:
			w, h = 1000, 3 // thumbnail one pixel high
		case 1:
			im := image.NewGray(image.Rect(5, 7, 5+w, 7+h)) // offset bounds
			for k := range im.Pix {
				im.Pix[k] = uint8(rng.Uint32())
			}
			return im
		}
		im := image.NewNRGBA(image.Rect(0, 0, w, h))
		for k := range im.Pix {
			im.Pix[k] = uint8(rng.Uint32())
		}
		return im
	}
	for _, tc := range []struct{ rows, cols, cell int }{{3, 2, 0}, {20, 20, 0}, {40, 5, 0}, {4, 4, 130}} {
		m := sample(tc.rows, tc.cols)
		full := make([]image.Image, tc.rows)
		for i := range full {
			if i != 2 { // a nil entry stays nil
				full[i] = mk(i)
			}
		}
		opts := &Options{Thumbnails: full, Cell: tc.cell}
		side := ThumbnailSide(tc.rows, tc.cols, opts)
		small := func(side int) []image.Image {
			out := make([]image.Image, len(full))
			for i, im := range full {
				if im != nil {
					out[i] = Thumbnail(im, side)
				}
			}
			return out
		}
		want, err := Render(m, opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Render(m, &Options{Thumbnails: small(side), Cell: tc.cell})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Pix, want.Pix) || got.Rect != want.Rect {
			t.Errorf("%+v: PNG figure from thumbnails (side %d) differs", tc, side)
		}
		var sw, sg bytes.Buffer
		if err := WriteSVG(&sw, m, opts); err != nil {
			t.Fatal(err)
		}
		if err := WriteSVG(&sg, m, &Options{Thumbnails: small(2 * side), Cell: tc.cell}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sw.Bytes(), sg.Bytes()) {
			t.Errorf("%+v: SVG from thumbnails differs", tc)
		}
		if !bytes.Contains(sw.Bytes(), []byte("data:image/png")) {
			t.Errorf("%+v: no thumbnail in the SVG", tc)
		}
	}
}

func TestThumbnail(t *testing.T) {
	for _, tc := range []struct{ w, h, side, ww, wh int }{
		{100, 50, 20, 20, 10}, {50, 100, 20, 10, 20}, {3, 1000, 68, 1, 68}, {10, 10, 68, 68, 68}, {7, 3, 7, 7, 3},
	} {
		im := image.NewRGBA(image.Rect(0, 0, tc.w, tc.h))
		th := Thumbnail(im, tc.side)
		if th.Rect.Dx() != tc.ww || th.Rect.Dy() != tc.wh {
			t.Errorf("%d×%d in %d: %v, want %d×%d", tc.w, tc.h, tc.side, th.Rect, tc.ww, tc.wh)
		}
		if again := Thumbnail(th, tc.side); again != th {
			t.Errorf("%d×%d in %d: a thumbnail is scaled again", tc.w, tc.h, tc.side)
		}
	}
	if Thumbnail(image.NewRGBA(image.Rect(0, 0, 0, 5)), 10) != nil {
		t.Error("empty image: thumbnail not nil")
	}
	// The thumbnail shows the image: a red picture gives a red thumbnail.
	red := image.NewUniform(color.RGBA{255, 0, 0, 255})
	im := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			im.Set(x, y, red.C)
		}
	}
	if c := Thumbnail(im, 8).RGBAAt(4, 4); c != (color.RGBA{255, 0, 0, 255}) {
		t.Errorf("thumbnail of red: %v", c)
	}
	if got := ThumbnailSide(3, 2, nil); got != 68 {
		t.Errorf("ThumbnailSide(3, 2) = %d, want 68 (72 px cells)", got)
	}
}
