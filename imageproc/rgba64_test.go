package imageproc

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// TestRGBRGBA64At: RGBA64At agrees with At everywhere, outside the bounds
// included, so the fast scaling path draws what the generic one did.
func TestRGBRGBA64At(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := NewRGB(image.Rect(-2, 3, 9, 8))
	for i := range p.Pix {
		p.Pix[i] = uint8(rng.Uint32())
	}
	var _ image.RGBA64Image = p
	for y := -4; y < 10; y++ {
		for x := -4; x < 12; x++ {
			r, g, b, a := p.At(x, y).RGBA()
			want := color.RGBA64{uint16(r), uint16(g), uint16(b), uint16(a)}
			if got := p.RGBA64At(x, y); got != want {
				t.Fatalf("(%d,%d): RGBA64At %v, At %v", x, y, got, want)
			}
		}
	}
}
