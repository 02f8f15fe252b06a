// Package heatmap draws a similarity matrix as an annotated heatmap, the
// figure seaborn's heatmap(annot=True, cmap="RdBu_r") draws, in pure Go:
// row labels (images) with optional thumbnails, column labels (texts)
// rotated 45°, the value in every cell with a contrasting text colour, a
// diverging colour scale with a colour bar and ticks, a title, and an
// outline on every row's largest value. Output is PNG or SVG.
package heatmap

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"path/filepath"
	"strings"

	"golang.org/x/image/draw"

	"github.com/goclip/goclip/internal/atomicfile"
)

// Options describe the figure; nil means defaults.
type Options struct {
	Title      string        // drawn above the matrix; empty: none
	RowLabels  []string      // one per row (images), or empty for 1, 2, …
	ColLabels  []string      // one per column (texts), or empty for 1, 2, …
	Thumbnails []image.Image // one per row (nil entries allowed), or empty
	RowAxis    string        // axis title for the rows, e.g. "image"
	ColAxis    string        // axis title for the columns, e.g. "text"
	// Min and Max fix the colour scale; when Min >= Max (the default) the
	// scale spans the data's finite minimum and maximum, as seaborn does.
	Min, Max float64
	Colormap Colormap // default RdBuR
	Decimals int      // digits written in cells and ticks; 0 means 2
	// HideValues leaves the cells unannotated (values are hidden anyway
	// when cells are too small to hold them).
	HideValues bool
	// OutlineRowMax draws a dark frame around every row's largest value
	// (the best text for each image).
	OutlineRowMax bool
	// Cell is the cell side in pixels; 0 picks one from the matrix size
	// (72 px up to 16 columns, down to 40 px at 30, 16 px minimum).
	Cell int
}

// maxLabelPx bounds the drawn length of a label; longer ones get "…".
const maxLabelPx = 230

// Size limits, so that no option or matrix can make Render allocate
// gigabytes: maxCell bounds Options.Cell, maxPixels the PNG (2^27 RGBA
// pixels = 512 MB, e.g. 11585² px: about 700×700 cells at the 16 px
// minimum; a 1000×1000 matrix needs 16000² px and must be an SVG).
const (
	maxCell   = 512
	maxPixels = 1 << 27
)

// figure is a validated matrix with its resolved options and layout.
type figure struct {
	m          [][]float64
	rows, cols int
	o          Options
	lo, hi     float64 // colour scale
	fs         *fonts
	big        *fonts // 2× faces for rotated labels
	rowLabels  []string
	colLabels  []string
	// layout, pixels
	cell, gridX, gridY, thumb int
	cbarX, cbarW, width       int
	height, colDepth          int
	showValues                bool
}

// Render draws matrix m (rows × columns) and returns the image.
func Render(m [][]float32, opts *Options) (*image.RGBA, error) {
	f, err := prepare(m, opts)
	if err != nil {
		return nil, err
	}
	if f.width*f.height > maxPixels {
		return nil, fmt.Errorf("heatmap: a %d×%d matrix makes a %d×%d px figure, too large for a PNG (max %d pixels); write an SVG or use a smaller Cell", f.rows, f.cols, f.width, f.height, maxPixels)
	}
	return f.draw(), nil
}

// WritePNG renders m and encodes it as PNG to w.
func WritePNG(w io.Writer, m [][]float32, opts *Options) error {
	img, err := Render(m, opts)
	if err != nil {
		return err
	}
	return png.Encode(w, img)
}

// Save renders m to path, as SVG when the name ends in ".svg" and PNG
// otherwise, atomically: a temporary file in the same folder renamed over
// path when complete, so an interrupted Save leaves the previous file.
func Save(path string, m [][]float32, opts *Options) error {
	err := atomicfile.Write(path, func(w io.Writer) error {
		if strings.EqualFold(filepath.Ext(path), ".svg") {
			return WriteSVG(w, m, opts)
		}
		return WritePNG(w, m, opts)
	})
	if err != nil {
		return fmt.Errorf("heatmap: %w", err)
	}
	return nil
}

func prepare(m [][]float32, opts *Options) (*figure, error) {
	f := &figure{}
	if opts != nil {
		f.o = *opts
	}
	f.rows = len(m)
	if f.rows == 0 || len(m[0]) == 0 {
		return nil, errors.New("heatmap: empty matrix")
	}
	f.cols = len(m[0])
	if f.rows > 2000 || f.cols > 2000 {
		return nil, fmt.Errorf("heatmap: %d×%d matrix is too large to draw (max 2000 per side)", f.rows, f.cols)
	}
	if f.o.Cell > maxCell {
		return nil, fmt.Errorf("heatmap: cell size %d px is larger than %d", f.o.Cell, maxCell)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	f.m = make([][]float64, f.rows)
	for i, r := range m {
		if len(r) != f.cols {
			return nil, fmt.Errorf("heatmap: row %d has %d values, row 0 has %d", i, len(r), f.cols)
		}
		f.m[i] = make([]float64, f.cols)
		for j, v := range r {
			x := float64(v)
			f.m[i][j] = x
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
		}
	}
	if f.o.Min < f.o.Max {
		lo, hi = f.o.Min, f.o.Max
	} else if math.IsInf(lo, 1) { // no finite value at all
		lo, hi = 0, 1
	}
	if hi-lo < 1e-9 { // a constant matrix: give the scale some width
		lo, hi = lo-0.5, hi+0.5
	}
	f.lo, f.hi = lo, hi
	if f.o.Colormap == nil {
		f.o.Colormap = RdBuR
	}
	if f.o.Decimals <= 0 {
		f.o.Decimals = 2
	}
	if f.o.Decimals > 6 {
		f.o.Decimals = 6
	}
	var err error
	if f.rowLabels, err = labels(f.o.RowLabels, f.rows, "row"); err != nil {
		return nil, err
	}
	if f.colLabels, err = labels(f.o.ColLabels, f.cols, "column"); err != nil {
		return nil, err
	}
	if n := len(f.o.Thumbnails); n != 0 && n != f.rows {
		return nil, fmt.Errorf("heatmap: %d thumbnails for %d rows", n, f.rows)
	}
	if err := f.layout(); err != nil {
		return nil, err
	}
	return f, nil
}

func labels(given []string, n int, what string) ([]string, error) {
	if len(given) == 0 {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprint(i)
		}
		return out, nil
	}
	if len(given) != n {
		return nil, fmt.Errorf("heatmap: %d %s labels for %d %ss", len(given), what, n, what)
	}
	out := make([]string, n)
	for i, s := range given {
		// One line per label: control characters would draw as boxes.
		out[i] = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return ' '
			}
			return r
		}, s)
	}
	return out, nil
}

// layout sizes the cells and fonts and places every part of the figure.
func (f *figure) layout() error {
	n := max(f.rows, f.cols)
	c := cellSide(n, f.o.Cell)
	f.cell = c
	valuePx := math.Min(17, float64(c)*0.3)
	labelPx := 14.0
	if c < 30 {
		labelPx = math.Max(9, float64(c)*0.55)
	}
	var err error
	if f.fs, err = newFonts(valuePx, labelPx, 19); err != nil {
		return err
	}
	if f.big, err = newFonts(valuePx, 2*labelPx, 19); err != nil {
		return err
	}
	f.showValues = !f.o.HideValues && c >= 28

	const margin, gap = 18, 8
	for i, s := range f.rowLabels {
		f.rowLabels[i] = truncate(f.fs.label, s, maxLabelPx)
	}
	for j, s := range f.colLabels {
		f.colLabels[j] = truncate(f.fs.label, s, maxLabelPx)
	}
	rowW := 0
	for _, s := range f.rowLabels {
		rowW = max(rowW, width(f.fs.label, s))
	}
	lh := lineHeight(f.fs.label)
	if len(f.o.Thumbnails) > 0 {
		f.thumb = c - 4
	}
	f.gridX = margin + rowW + gap
	if f.o.RowAxis != "" {
		f.gridX += lh + gap
	}
	if f.thumb > 0 {
		f.gridX += f.thumb + gap
	}
	// 45° column labels hang below the grid, ending at their column's
	// centre; they may reach left of the grid.
	const s45 = math.Sqrt2 / 2
	left := 0
	for j, s := range f.colLabels {
		w := float64(width(f.fs.label, s))
		f.colDepth = max(f.colDepth, int(math.Ceil((w+float64(lh))*s45)))
		left = max(left, int((w+float64(lh)/2)*s45)-int((float64(j)+0.5)*float64(c)))
	}
	f.gridX = max(f.gridX, margin+left)
	f.colDepth += gap
	f.gridY = margin
	if f.o.Title != "" {
		f.gridY += lineHeight(f.fs.title) + 14
	}
	tickW := 0
	for _, t := range f.ticks() {
		tickW = max(tickW, width(f.fs.tick, f.fmt(t)))
	}
	f.cbarW = 18
	f.cbarX = f.gridX + f.cols*c + 22
	f.width = f.cbarX + f.cbarW + 6 + tickW + margin
	if f.o.Title != "" {
		f.o.Title = truncate(f.fs.title, f.o.Title, max(f.width-2*margin, 1000))
		f.width = max(f.width, width(f.fs.title, f.o.Title)+2*margin)
	}
	f.height = f.gridY + f.rows*c + f.colDepth + margin
	if f.o.ColAxis != "" {
		f.height += lh + gap
	}
	// The colour bar is at least 200 px tall; a short matrix grows the figure.
	f.height = max(f.height, f.gridY+200+margin)
	return nil
}

// titleX is the centre of the title: over the grid when it fits there.
func (f *figure) titleX() int {
	half := width(f.fs.title, f.o.Title)/2 + 18
	return min(max(f.gridX+f.cols*f.cell/2, half), f.width-half)
}

func (f *figure) fmt(v float64) string { return fmt.Sprintf("%.*f", f.o.Decimals, v) }

// colorOf maps a value to its cell colour.
func (f *figure) colorOf(v float64) color.RGBA {
	if math.IsNaN(v) {
		return f.o.Colormap(math.NaN())
	}
	return f.o.Colormap((v - f.lo) / (f.hi - f.lo))
}

// ticks returns 3 to 9 round values inside the colour scale.
func (f *figure) ticks() []float64 {
	span := f.hi - f.lo
	step := math.Pow(10, math.Floor(math.Log10(span/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= 8 {
			step *= m
			break
		}
	}
	var out []float64
	for t := math.Ceil(f.lo/step-1e-9) * step; t <= f.hi+step*1e-9; t += step {
		v := math.Round(t/step) * step
		if v == 0 {
			v = 0 // no "-0.00" tick
		}
		out = append(out, v)
	}
	return out
}

// rowMax returns the column of the largest finite value of row i, or -1.
func (f *figure) rowMax(i int) int {
	best, at := math.Inf(-1), -1
	for j, v := range f.m[i] {
		if v > best {
			best, at = v, j
		}
	}
	return at
}

func (f *figure) draw() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, f.width, f.height))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	ink := color.RGBA{0x22, 0x22, 0x22, 0xff}
	c := f.cell
	gridW, gridH := f.cols*c, f.rows*c

	if f.o.Title != "" {
		drawTextAligned(img, f.fs.title, f.o.Title, f.titleX(), 18+lineHeight(f.fs.title)/2, 0, ink)
	}
	// Cells, separated by 1 px white lines.
	for i := range f.rows {
		for j := range f.cols {
			v := f.m[i][j]
			bg := f.colorOf(v)
			r := image.Rect(f.gridX+j*c, f.gridY+i*c, f.gridX+(j+1)*c, f.gridY+(i+1)*c)
			draw.Draw(img, image.Rect(r.Min.X+1, r.Min.Y+1, r.Max.X, r.Max.Y), &image.Uniform{bg}, image.Point{}, draw.Src)
			if f.showValues {
				s := f.fmt(v)
				if math.IsNaN(v) {
					s = "nan"
				}
				drawTextAligned(img, f.fs.value, s, r.Min.X+c/2, r.Min.Y+c/2, 0, textOn(bg))
			}
		}
	}
	if f.o.OutlineRowMax {
		for i := range f.rows {
			if j := f.rowMax(i); j >= 0 {
				r := image.Rect(f.gridX+j*c, f.gridY+i*c, f.gridX+(j+1)*c, f.gridY+(i+1)*c)
				t := max(2, c/24)
				frame(img, r.Inset(1), t, ink)
				frame(img, r.Inset(1+t), 1, color.RGBA{0xff, 0xff, 0xff, 0xff})
			}
		}
	}
	// Row labels, right-aligned, and thumbnails.
	labelRight := f.gridX - 8
	if f.thumb > 0 {
		labelRight -= f.thumb + 8
	}
	for i, s := range f.rowLabels {
		cy := f.gridY + i*c + c/2
		drawTextAligned(img, f.fs.label, s, labelRight, cy, 1, ink)
		if f.thumb > 0 && f.o.Thumbnails[i] != nil {
			f.drawThumb(img, f.o.Thumbnails[i], image.Rect(f.gridX-8-f.thumb, cy-f.thumb/2, f.gridX-8, cy-f.thumb/2+f.thumb))
		}
	}
	if f.o.RowAxis != "" {
		x := f.gridX - 8 - f.thumb
		if f.thumb > 0 {
			x -= 8
		}
		w := 0
		for _, s := range f.rowLabels {
			w = max(w, width(f.fs.label, s))
		}
		lh := lineHeight(f.fs.label)
		drawRotated(img, f.big.label, f.o.RowAxis, x-w-8-lh/2, f.gridY+gridH/2-width(f.fs.label, f.o.RowAxis)/2, 90, ink)
	}
	// Column labels at 45°, with small tick marks.
	for j, s := range f.colLabels {
		x := f.gridX + j*c + c/2
		draw.Draw(img, image.Rect(x, f.gridY+gridH, x+1, f.gridY+gridH+4), image.NewUniform(ink), image.Point{}, draw.Src)
		drawRotated(img, f.big.label, s, x+2, f.gridY+gridH+8, 45, ink)
	}
	if f.o.ColAxis != "" {
		drawTextAligned(img, f.fs.label, f.o.ColAxis, f.gridX+gridW/2, f.gridY+gridH+f.colDepth+lineHeight(f.fs.label)/2+4, 0, ink)
	}
	f.drawColorbar(img, ink)
	return img
}

// drawColorbar draws the vertical colour scale right of the grid with
// tick marks and labels: high values at the top, as matplotlib does.
func (f *figure) drawColorbar(img *image.RGBA, ink color.RGBA) {
	top := f.gridY
	h := max(f.rows*f.cell, 200)
	for y := range h {
		t := 1 - (float64(y)+0.5)/float64(h)
		draw.Draw(img, image.Rect(f.cbarX, top+y, f.cbarX+f.cbarW, top+y+1), image.NewUniform(f.o.Colormap(t)), image.Point{}, draw.Src)
	}
	frame(img, image.Rect(f.cbarX-1, top-1, f.cbarX+f.cbarW+1, top+h+1), 1, color.RGBA{0x99, 0x99, 0x99, 0xff})
	for _, t := range f.ticks() {
		y := top + int(math.Round((1-(t-f.lo)/(f.hi-f.lo))*float64(h-1)))
		draw.Draw(img, image.Rect(f.cbarX+f.cbarW, y, f.cbarX+f.cbarW+4, y+1), image.NewUniform(ink), image.Point{}, draw.Src)
		drawText(img, f.fs.tick, f.fmt(t), f.cbarX+f.cbarW+6, y, ink)
	}
}

// drawThumb draws im's Thumbnail centred in the square r.
func (f *figure) drawThumb(dst *image.RGBA, im image.Image, r image.Rectangle) {
	t := Thumbnail(im, r.Dx())
	if t == nil {
		return
	}
	w, h := t.Rect.Dx(), t.Rect.Dy()
	p := image.Pt(r.Min.X+(r.Dx()-w)/2, r.Min.Y+(r.Dy()-h)/2)
	draw.Draw(dst, image.Rectangle{Min: p, Max: p.Add(image.Pt(w, h))}, t, t.Rect.Min, draw.Over)
}

// frame draws a rectangle outline of thickness t inside r.
func frame(img *image.RGBA, r image.Rectangle, t int, c color.RGBA) {
	u := image.NewUniform(c)
	draw.Draw(img, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+t), u, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(r.Min.X, r.Max.Y-t, r.Max.X, r.Max.Y), u, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(r.Min.X, r.Min.Y, r.Min.X+t, r.Max.Y), u, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(r.Max.X-t, r.Min.Y, r.Max.X, r.Max.Y), u, image.Point{}, draw.Src)
}
