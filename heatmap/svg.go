package heatmap

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
)

// WriteSVG renders m as an SVG document with the layout of the PNG: cells
// as rectangles, text as text (selectable, scalable), thumbnails as
// embedded PNGs.
func WriteSVG(w io.Writer, m [][]float32, opts *Options) error {
	f, err := prepare(m, opts)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	sv := svgWriter{w: bw, f: f, labelPx: float64(f.fs.label.Metrics().Height.Ceil())}
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Go, 'DejaVu Sans', Helvetica, Arial, sans-serif">`+"\n",
		f.width, f.height, f.width, f.height)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	if f.o.Title != "" {
		fmt.Fprintf(bw, `<text x="%d" y="%d" text-anchor="middle" dominant-baseline="central" font-size="19" font-weight="bold" fill="#222">%s</text>`+"\n",
			f.titleX(), 18+lineHeight(f.fs.title)/2, esc(f.o.Title))
	}
	sv.cells()
	sv.labels()
	sv.colorBar()
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

// svgWriter writes the parts of one heatmap as SVG elements.
type svgWriter struct {
	w       io.Writer
	f       *figure
	labelPx float64 // font size of the labels
}

var esc = html.EscapeString

func hex(col color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", col.R, col.G, col.B) }

// cells writes the grid: a rectangle with a tooltip per cell, its value,
// and the outline of each row's maximum.
func (sv *svgWriter) cells() {
	f, c := sv.f, sv.f.cell
	valuePx := math.Min(17, float64(c)*0.3)
	for i := range f.rows {
		for j := range f.cols {
			v := f.m[i][j]
			bg := f.colorOf(v)
			x, y := f.gridX+j*c, f.gridY+i*c
			fmt.Fprintf(sv.w, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s × %s: %s</title></rect>`+"\n",
				x+1, y+1, c-1, c-1, hex(bg), esc(f.rowLabels[i]), esc(f.colLabels[j]), f.fmt(v))
			if f.showValues {
				fmt.Fprintf(sv.w, `<text x="%d" y="%d" text-anchor="middle" dominant-baseline="central" font-size="%.1f" fill="%s">%s</text>`+"\n",
					x+c/2, y+c/2, valuePx, hex(textOn(bg)), f.fmt(v))
			}
		}
		if f.o.OutlineRowMax {
			if j := f.rowMax(i); j >= 0 {
				t := float64(max(2, c/24))
				fmt.Fprintf(sv.w, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#222" stroke-width="%.0f"/>`+"\n",
					float64(f.gridX+j*c+1)+t/2, float64(f.gridY+i*c+1)+t/2, float64(c-2)-t, float64(c-2)-t, t)
			}
		}
	}
}

// labels writes the row labels with their thumbnails, the rotated column
// labels and the axis titles.
func (sv *svgWriter) labels() {
	f, c := sv.f, sv.f.cell
	gridW, gridH := f.cols*c, f.rows*c
	labelRight := f.gridX - 8
	if f.thumb > 0 {
		labelRight -= f.thumb + 8
	}
	for i, s := range f.rowLabels {
		cy := f.gridY + i*c + c/2
		fmt.Fprintf(sv.w, `<text x="%d" y="%d" text-anchor="end" dominant-baseline="central" font-size="%.0f" fill="#222">%s</text>`+"\n",
			labelRight, cy, sv.labelPx, esc(s))
		if f.thumb > 0 && f.o.Thumbnails[i] != nil {
			if uri, err := thumbURI(f.o.Thumbnails[i], f.thumb); err == nil {
				fmt.Fprintf(sv.w, `<image x="%d" y="%d" width="%d" height="%d" href="%s"/>`+"\n",
					f.gridX-8-f.thumb, cy-f.thumb/2, f.thumb, f.thumb, uri)
			}
		}
	}
	for j, s := range f.colLabels {
		x := f.gridX + j*c + c/2
		y := f.gridY + gridH + 8
		fmt.Fprintf(sv.w, `<text transform="translate(%d,%d) rotate(-45)" text-anchor="end" dominant-baseline="central" font-size="%.0f" fill="#222">%s</text>`+"\n",
			x+2, y, sv.labelPx, esc(s))
	}
	if f.o.ColAxis != "" {
		fmt.Fprintf(sv.w, `<text x="%d" y="%d" text-anchor="middle" font-size="%.0f" fill="#222">%s</text>`+"\n",
			f.gridX+gridW/2, f.gridY+gridH+f.colDepth+lineHeight(f.fs.label), sv.labelPx, esc(f.o.ColAxis))
	}
	if f.o.RowAxis != "" {
		fmt.Fprintf(sv.w, `<text transform="translate(%d,%d) rotate(-90)" text-anchor="middle" font-size="%.0f" fill="#222">%s</text>`+"\n",
			18+lineHeight(f.fs.label), f.gridY+gridH/2, sv.labelPx, esc(f.o.RowAxis))
	}
}

// colorBar writes the colour bar as a gradient with 32 stops, and its ticks.
func (sv *svgWriter) colorBar() {
	f := sv.f
	h := max(f.rows*f.cell, 200)
	fmt.Fprintf(sv.w, `<defs><linearGradient id="cbar" x1="0" y1="1" x2="0" y2="0">`)
	for k := 0; k <= 32; k++ {
		t := float64(k) / 32
		fmt.Fprintf(sv.w, `<stop offset="%.4f" stop-color="%s"/>`, t, hex(f.o.Colormap(t)))
	}
	fmt.Fprintf(sv.w, "</linearGradient></defs>\n")
	fmt.Fprintf(sv.w, `<rect x="%d" y="%d" width="%d" height="%d" fill="url(#cbar)" stroke="#999"/>`+"\n", f.cbarX, f.gridY, f.cbarW, h)
	for _, t := range f.ticks() {
		y := float64(f.gridY) + (1-(t-f.lo)/(f.hi-f.lo))*float64(h-1)
		fmt.Fprintf(sv.w, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#222"/>`, f.cbarX+f.cbarW, y, f.cbarX+f.cbarW+4, y)
		fmt.Fprintf(sv.w, `<text x="%d" y="%.1f" dominant-baseline="central" font-size="%.0f" fill="#222">%s</text>`+"\n",
			f.cbarX+f.cbarW+6, y, sv.labelPx*0.93, f.fmt(t))
	}
}

// thumbURI returns a data: URI of im's Thumbnail at twice side.
func thumbURI(im image.Image, side int) (string, error) {
	dst := Thumbnail(im, 2*side)
	if dst == nil {
		return "", fmt.Errorf("empty image")
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, dst); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}
