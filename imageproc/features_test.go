package imageproc

import (
	"bytes"
	"errors"
	"image"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/tiff"
)

// TestRefusedFeatures: files Pillow opens that goclip does not decode are
// refused with ErrUnsupportedFeature and a message naming the feature
// (testdata/refused, written by tools/goldens/images.py make-extra).
func TestRefusedFeatures(t *testing.T) {
	for name, want := range map[string]string{
		"jpeg_arithmetic.jpg":     "arithmetic coding",
		"tiff_jpeg.tiff":          "JPEG-compressed TIFF",
		"tiff_cmyk16.tiff":        "CMYK (separated) TIFF other than 8-bit",
		"tiff_la.tiff":            "greyscale+alpha TIFF",
		"tiff_planar.tiff":        "planar TIFF",
		"tiff_bigtiff.tiff":       "BigTIFF",
		"jpeg_mixed_sampling.jpg": "sampling factors 2x2,2x1,1x1",
		"tiff_g3_fillbits.tiff":   "fill bits before EOL",
	} {
		_, err := DecodeFile(filepath.Join("..", "testdata", "refused", name), nil)
		if !errors.Is(err, ErrUnsupportedFeature) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want ErrUnsupportedFeature naming %q", name, err, want)
		}
	}
}

// TestXImageTIFFG4BlackIsZero documents the golang.org/x/image/tiff bug that
// fixCCITT works around, as a case for upstream: a CCITT Group 4 TIFF with
// PhotometricInterpretation BlackIsZero (ImageMagick,
// quantum:polarity=min-is-black) decodes to the negative of what libtiff
// (Pillow) gives, while the WhiteIsZero file agrees. If this fails, upstream
// is fixed and fixCCITT must go (the decode goldens would catch the double
// inversion too).
func TestXImageTIFFG4BlackIsZero(t *testing.T) {
	for _, c := range []struct {
		name     string
		inverted bool
	}{{"tiff_g4_blackiszero.tiff", true}, {"tiff_g4_whiteiszero.tiff", false}} {
		img, err := tiff.Decode(bytes.NewReader(readTestImage(t, c.name)))
		if err != nil {
			t.Fatal(err)
		}
		g, ok := img.(*image.Gray)
		if !ok {
			t.Fatalf("%s: %T", c.name, img)
		}
		want, _, _ := readPNGRGB(t, filepath.Join("..", "testdata", "golden", "decoded", c.name+".png"))
		same, neg := 0, 0
		for i, v := range g.Pix {
			switch want[3*i] {
			case v:
				same++
			case 255 - v:
				neg++
			}
		}
		t.Logf("%s: x/image/tiff equals Pillow at %d pixels, is its negative at %d of %d", c.name, same, neg, len(g.Pix))
		if c.inverted && neg != len(g.Pix) || !c.inverted && same != len(g.Pix) {
			t.Errorf("%s: x/image/tiff no longer behaves as documented (same %d, negative %d of %d)", c.name, same, neg, len(g.Pix))
		}
	}
}
