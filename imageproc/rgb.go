package imageproc

import (
	"image"
	"image/color"

	"github.com/goclip/goclip/imageproc/internal/jpeg"
)

// RGB is an in-memory image of 8-bit red, green and blue samples, three
// bytes per pixel and no alpha: what Pillow's Image.convert("RGB") holds.
type RGB struct {
	// Pix holds the samples in R, G, B order; the pixel at (x, y) starts at
	// Pix[(y-Rect.Min.Y)*Stride + (x-Rect.Min.X)*3].
	Pix []uint8
	// Stride is the Pix distance in bytes between vertically adjacent pixels.
	Stride int
	// Rect is the image's bounds.
	Rect image.Rectangle
}

// NewRGB returns a black RGB image with the given bounds.
func NewRGB(r image.Rectangle) *RGB {
	w, h := r.Dx(), r.Dy()
	return &RGB{Pix: make([]uint8, 3*w*h), Stride: 3 * w, Rect: r}
}

// ColorModel returns color.RGBAModel: every pixel is opaque.
func (p *RGB) ColorModel() color.Model { return color.RGBAModel }

// Bounds returns the image's bounds.
func (p *RGB) Bounds() image.Rectangle { return p.Rect }

// At returns the opaque colour of the pixel at (x, y).
func (p *RGB) At(x, y int) color.Color {
	if !(image.Point{x, y}.In(p.Rect)) {
		return color.RGBA{}
	}
	i := (y-p.Rect.Min.Y)*p.Stride + (x-p.Rect.Min.X)*3
	return color.RGBA{p.Pix[i], p.Pix[i+1], p.Pix[i+2], 0xff}
}

// RGBA64At returns the pixel at (x, y) as image.RGBA64Image asks: the
// values At(x, y).RGBA() gives, without allocating (golang.org/x/image/draw
// scales an RGBA64Image through this fast path).
func (p *RGB) RGBA64At(x, y int) color.RGBA64 {
	if !(image.Point{x, y}.In(p.Rect)) {
		return color.RGBA64{}
	}
	i := (y-p.Rect.Min.Y)*p.Stride + (x-p.Rect.Min.X)*3
	return color.RGBA64{uint16(p.Pix[i]) * 0x101, uint16(p.Pix[i+1]) * 0x101, uint16(p.Pix[i+2]) * 0x101, 0xffff}
}

// rowSource produces an image one row of interleaved RGB at a time, so that
// the resampler can read straight from a decoder's planes without a
// full-size RGB copy. row must be safe for concurrent calls with distinct
// scratch buffers.
type rowSource interface {
	size() (w, h int)
	// row returns columns [x0, x1) of row y (0-based) as 3*(x1-x0) bytes of
	// RGB. It may write into buf (len >= 5*w+2: room for chroma scratch)
	// and return part of it, or return internal storage.
	row(y, x0, x1 int, buf []uint8) []uint8
}

func (p *RGB) size() (int, int) { return p.Rect.Dx(), p.Rect.Dy() }

func (p *RGB) row(y, x0, x1 int, _ []uint8) []uint8 {
	i := y * p.Stride
	return p.Pix[i+3*x0 : i+3*x1]
}

// materialize renders a source into a new RGB image.
func materialize(src rowSource) *RGB {
	if p, ok := src.(*RGB); ok {
		return p
	}
	w, h := src.size()
	out := NewRGB(image.Rect(0, 0, w, h))
	buf := make([]uint8, 5*w+2)
	for y := 0; y < h; y++ {
		copy(out.Pix[y*out.Stride:y*out.Stride+3*w], src.row(y, 0, w, buf))
	}
	return out
}

// funcSource adapts a per-row conversion function.
type funcSource struct {
	w, h int
	fn   func(y int, buf []uint8)
}

func (s *funcSource) size() (int, int) { return s.w, s.h }

func (s *funcSource) row(y, x0, x1 int, buf []uint8) []uint8 {
	buf = buf[:3*s.w]
	s.fn(y, buf)
	return buf[3*x0 : 3*x1]
}

// sourceOf returns a row source for any image, dropping alpha the way
// Pillow's convert("RGB") does (straight, non-premultiplied colour is kept;
// premultiplied *image.RGBA and RGBA64 are un-premultiplied first).
// Known concrete types are read from their pixel slices; others go through
// At, slowly.
func sourceOf(img image.Image) rowSource {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *RGB:
		if m.Rect.Min == (image.Point{}) {
			return m
		}
		return &funcSource{w, h, func(y int, buf []uint8) {
			i := y * m.Stride
			copy(buf, m.Pix[i:i+3*w])
		}}
	case *image.YCbCr:
		if s := newJPEGSource(m); s != nil {
			return s
		}
	case *image.NYCbCrA:
		if s := newJPEGSource(&m.YCbCr); s != nil {
			return s
		}
	case *image.RGBA:
		// Premultiplied (TIFF associated alpha): Pillow's "RGBa" unpacker.
		return &funcSource{w, h, func(y int, buf []uint8) { rgbaRow(buf, m.Pix[y*m.Stride:], w, 4) }}
	case *image.NRGBA:
		return &funcSource{w, h, func(y int, buf []uint8) { pick4(buf, m.Pix[y*m.Stride:], w) }}
	case *image.RGBA64:
		return &funcSource{w, h, func(y int, buf []uint8) { rgbaRow(buf, m.Pix[y*m.Stride:], w, 8) }}
	case *image.NRGBA64:
		return &funcSource{w, h, func(y int, buf []uint8) { pick8(buf, m.Pix[y*m.Stride:], w) }}
	case *image.Gray:
		return &funcSource{w, h, func(y int, buf []uint8) {
			for x, v := range m.Pix[y*m.Stride : y*m.Stride+w] {
				buf[3*x], buf[3*x+1], buf[3*x+2] = v, v, v
			}
		}}
	case *image.Gray16:
		// Pillow opens 16-bit greyscale PNGs as mode I;16 and its
		// I;16 -> RGB conversion clips at 255 instead of scaling.
		return &funcSource{w, h, func(y int, buf []uint8) {
			row := m.Pix[y*m.Stride : y*m.Stride+2*w]
			for x := 0; x < w; x++ {
				v := row[2*x+1]
				if row[2*x] != 0 {
					v = 255
				}
				buf[3*x], buf[3*x+1], buf[3*x+2] = v, v, v
			}
		}}
	case *image.Paletted:
		pal := make([][3]uint8, 256)
		for i, c := range m.Palette {
			if i < 256 {
				pal[i] = straightRGB(c)
			}
		}
		return &funcSource{w, h, func(y int, buf []uint8) {
			for x, v := range m.Pix[y*m.Stride : y*m.Stride+w] {
				c := pal[v]
				buf[3*x], buf[3*x+1], buf[3*x+2] = c[0], c[1], c[2]
			}
		}}
	case *image.CMYK:
		return &funcSource{w, h, func(y int, buf []uint8) { cmykRow(buf, m.Pix[y*m.Stride:], w) }}
	case *jpeg.YCCK:
		if s := newJPEGSource(m.YCbCr); s != nil {
			return &ycckSource{s, m}
		}
	}
	return &funcSource{w, h, func(y int, buf []uint8) {
		for x := 0; x < w; x++ {
			c := straightRGB(img.At(b.Min.X+x, b.Min.Y+y))
			buf[3*x], buf[3*x+1], buf[3*x+2] = c[0], c[1], c[2]
		}
	}}
}

// pick4 copies R, G, B out of 4-byte pixels.
func pick4(dst, src []uint8, w int) {
	src = src[:4*w]
	dst = dst[:3*w]
	for x := 0; x < w; x++ {
		dst[3*x], dst[3*x+1], dst[3*x+2] = src[4*x], src[4*x+1], src[4*x+2]
	}
}

// pick8 copies the high bytes of R, G, B out of 8-byte big-endian pixels,
// as Pillow's RGB;16B / RGBA;16B unpackers do.
func pick8(dst, src []uint8, w int) {
	src = src[:8*w]
	dst = dst[:3*w]
	for x := 0; x < w; x++ {
		dst[3*x], dst[3*x+1], dst[3*x+2] = src[8*x], src[8*x+2], src[8*x+4]
	}
}

// straightRGB returns a colour's non-premultiplied 8-bit RGB.
func straightRGB(c color.Color) [3]uint8 {
	switch c := c.(type) {
	case color.NRGBA:
		return [3]uint8{c.R, c.G, c.B}
	case color.RGBA:
		if c.A == 0xff || c.A == 0 {
			return [3]uint8{c.R, c.G, c.B}
		}
	case color.Gray:
		return [3]uint8{c.Y, c.Y, c.Y}
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [3]uint8{n.R, n.G, n.B}
}

// cmykRow converts CMYK to RGB as Pillow's cmyk2rgb does:
// X = (255-K) - round((255-K)*C/255), with its MULDIV255 rounding.
func cmykRow(dst, src []uint8, w int) {
	src = src[:4*w]
	dst = dst[:3*w]
	for x := 0; x < w; x++ {
		nk := 255 - int(src[4*x+3])
		for c := 0; c < 3; c++ {
			t := int(src[4*x+c])*nk + 128
			v := nk - ((t>>8)+t)>>8
			dst[3*x+c] = clamp8(v)
		}
	}
}

// ycckSource converts a YCbCrK JPEG as libjpeg-turbo and Pillow do:
// ycck_cmyk_convert gives C = 255 - R (R from the same upsampling and
// ycc_rgb_convert as a YCbCr JPEG, likewise M, Y) and K as stored; Pillow
// reads Adobe CMYK inverted ("CMYK;I"), so its cmyk2rgb sees R, G, B and
// 255 - K: X = K - round(K*R/255), with MULDIV255's rounding.
type ycckSource struct {
	*ycbcrPlanes
	m *jpeg.YCCK
}

func (s *ycckSource) row(y, x0, x1 int, buf []uint8) []uint8 {
	rgb := s.ycbcrPlanes.row(y, x0, x1, buf)
	k := s.m.K[y*s.m.KStride:]
	for x := x0; x < x1; x++ {
		nk := int(k[x])
		p := rgb[3*(x-x0) : 3*(x-x0)+3]
		for c := range p {
			t := int(p[c])*nk + 128
			p[c] = clamp8(nk - ((t>>8)+t)>>8)
		}
	}
	return rgb
}

func clamp8(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
