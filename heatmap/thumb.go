package heatmap

import (
	"image"

	"golang.org/x/image/draw"
)

// cellSide is the cell side in pixels of a figure whose larger side has n
// cells: opts' Cell, or 72 px up to 16 cells, then 1200/n, 16 px minimum.
func cellSide(n, cell int) int {
	if cell > 0 {
		return cell
	}
	if n <= 16 {
		return 72
	}
	return min(72, max(16, 1200/n))
}

// ThumbnailSide is the side of the square a thumbnail is fitted into in a
// figure of rows × cols cells drawn with opts by Render and WritePNG;
// WriteSVG embeds thumbnails at twice this side (for high-density
// screens). A caller that keeps many images can keep Thumbnail(im, side)
// instead: the figure is the same.
func ThumbnailSide(rows, cols int, opts *Options) int {
	cell := 0
	if opts != nil {
		cell = opts.Cell
	}
	return max(1, cellSide(max(rows, cols), cell)-4)
}

// fitSize is the size of a w×h image scaled to fit side×side with its
// aspect ratio kept. Integer arithmetic makes it idempotent: a fitted
// size fits to itself.
func fitSize(w, h, side int) (int, int) {
	if w >= h {
		return side, max(1, int(int64(h)*int64(side)/int64(w)))
	}
	return max(1, int(int64(w)*int64(side)/int64(h))), side
}

// Thumbnail returns im scaled (Catmull-Rom) to fit side×side, keeping its
// aspect ratio, as the figure draws it; an *image.RGBA that already has
// the fitted size (a thumbnail made by Thumbnail) is returned as is. It
// returns nil for an empty image.
func Thumbnail(im image.Image, side int) *image.RGBA {
	b := im.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 || side <= 0 {
		return nil
	}
	w, h := fitSize(b.Dx(), b.Dy(), side)
	if rgba, ok := im.(*image.RGBA); ok && b.Dx() == w && b.Dy() == h {
		return rgba
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), im, b, draw.Src, nil)
	return dst
}
