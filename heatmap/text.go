package heatmap

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/f64"
	"golang.org/x/image/math/fixed"
)

// fonts holds the faces of one rendering (parsed per call: no global state).
type fonts struct {
	value, label, tick, title font.Face
}

func newFonts(valuePx, labelPx, titlePx float64) (*fonts, error) {
	reg, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("heatmap: Go Regular font: %w", err)
	}
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, fmt.Errorf("heatmap: Go Bold font: %w", err)
	}
	face := func(f *opentype.Font, px float64) (font.Face, error) {
		// At 72 DPI one point is one pixel.
		return opentype.NewFace(f, &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingFull})
	}
	var fs fonts
	if fs.value, err = face(reg, valuePx); err != nil {
		return nil, err
	}
	if fs.label, err = face(reg, labelPx); err != nil {
		return nil, err
	}
	if fs.tick, err = face(reg, labelPx*0.93); err != nil {
		return nil, err
	}
	if fs.title, err = face(bold, titlePx); err != nil {
		return nil, err
	}
	return &fs, nil
}

// width is the advance of s in pixels.
func width(f font.Face, s string) int { return font.MeasureString(f, s).Ceil() }

// lineHeight is the ascent plus descent of f in pixels.
func lineHeight(f font.Face) int {
	m := f.Metrics()
	return (m.Ascent + m.Descent).Ceil()
}

// truncate shortens s with an ellipsis until it is at most maxW pixels wide.
func truncate(f font.Face, s string, maxW int) string {
	if width(f, s) <= maxW {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && width(f, string(r)+"…") > maxW {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// drawText draws s with its left end at x and its vertical centre at cy.
func drawText(dst draw.Image, f font.Face, s string, x, cy int, c color.Color) {
	m := f.Metrics()
	base := cy + (m.Ascent.Ceil()-m.Descent.Ceil())/2
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: f, Dot: fixed.P(x, base)}
	d.DrawString(s)
}

// drawTextAligned draws s centred (align 0), right-aligned (align 1) or
// left-aligned (align -1) at x, vertically centred at cy.
func drawTextAligned(dst draw.Image, f font.Face, s string, x, cy, align int, c color.Color) {
	w := width(f, s)
	switch align {
	case 0:
		x -= w / 2
	case 1:
		x -= w
	}
	drawText(dst, f, s, x, cy, c)
}

// drawRotated draws s rotated by deg degrees counter-clockwise so that the
// END of the text, at its vertical centre, lands on (ex, ey): the layout of
// matplotlib's rotated tick labels with ha="right". The text is rendered at
// twice the size of f and resampled down, which keeps the strokes smooth.
func drawRotated(dst draw.Image, big font.Face, s string, ex, ey int, deg float64, c color.Color) {
	w, h := width(big, s)+4, lineHeight(big)+4
	if w <= 4 {
		return
	}
	src := image.NewRGBA(image.Rect(0, 0, w, h))
	drawText(src, big, s, 2, h/2, c)
	th := deg * math.Pi / 180
	// Unit vectors in dst of the text direction and of "down" in the text.
	dx, dy := math.Cos(th), -math.Sin(th)
	nx, ny := math.Sin(th), math.Cos(th)
	const k = 0.5 // rendered at 2×
	// Source point (w-2, h/2) maps to (ex, ey).
	u, v := float64(w-2), float64(h)/2
	ox := float64(ex) - k*(u*dx+v*nx)
	oy := float64(ey) - k*(u*dy+v*ny)
	m := f64.Aff3{k * dx, k * nx, ox, k * dy, k * ny, oy}
	draw.CatmullRom.Transform(dst, m, src, src.Bounds(), draw.Over, nil)
}
