package heatmap

import (
	"image/color"
	"math"
)

// Colormap maps t in [0,1] to a colour; 0 is the low end of the scale.
type Colormap func(t float64) color.RGBA

// rdBu is ColorBrewer's 11-class RdBu, reversed (blue → white → red), the
// palette matplotlib calls RdBu_r.
var rdBuR = [...]uint32{
	0x053061, 0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7,
	0xfddbc7, 0xf4a582, 0xd6604d, 0xb2182b, 0x67001f,
}

// coolwarm samples Kenneth Moreland's diverging blue-grey-red map (the one
// matplotlib calls coolwarm) at 9 evenly spaced points.
var coolwarm = [...]uint32{
	0x3b4cc0, 0x6282ea, 0x8db0fe, 0xb8d0f9, 0xdddcdc,
	0xf5c4ad, 0xf49a7b, 0xdd604c, 0xb40426,
}

// RdBuR is the diverging blue-white-red map of seaborn/matplotlib's
// "RdBu_r": low values blue, the middle white, high values red.
func RdBuR(t float64) color.RGBA { return interp(rdBuR[:], t) }

// Coolwarm is matplotlib's "coolwarm": blue, light grey, red.
func Coolwarm(t float64) color.RGBA { return interp(coolwarm[:], t) }

// interp interpolates linearly between evenly spaced control colours.
func interp(stops []uint32, t float64) color.RGBA {
	if math.IsNaN(t) {
		return color.RGBA{0xbb, 0xbb, 0xbb, 0xff}
	}
	t = math.Max(0, math.Min(1, t))
	x := t * float64(len(stops)-1)
	i := int(x)
	if i >= len(stops)-1 {
		i = len(stops) - 2
	}
	f := x - float64(i)
	a, b := stops[i], stops[i+1]
	ch := func(sh uint) uint8 {
		ca, cb := float64(a>>sh&0xff), float64(b>>sh&0xff)
		return uint8(math.Round(ca + (cb-ca)*f))
	}
	return color.RGBA{ch(16), ch(8), ch(0), 0xff}
}

// luminance is the relative luminance (WCAG) of c in [0,1].
func luminance(c color.RGBA) float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// textOn returns black or white, whichever contrasts more with bg.
func textOn(bg color.RGBA) color.RGBA {
	l := luminance(bg)
	// contrast ratio against white (1.05/(l+0.05)) vs black ((l+0.05)/0.05)
	if 1.05/(l+0.05) > (l+0.05)/0.05 {
		return color.RGBA{0xff, 0xff, 0xff, 0xff}
	}
	return color.RGBA{0x1a, 0x1a, 0x1a, 0xff}
}
