package imageproc

import (
	"image"
	"image/color"

	"github.com/goclip/goclip/imageproc/internal/jpeg"
)

// Transparency, as transformers' convert_to_rgb (image_transforms.py)
// turns it into RGB. transformers 5: an image whose Pillow bands include
// "A", or whose info has a "transparency" entry (tRNS in PNG, a GIF's
// transparent index), is converted to RGBA and Image.alpha_composite'd over
// an opaque white image, then converted to RGB. transformers 4: plain
// Image.convert("RGB"), which drops the alpha band and keeps the colour
// stored under transparent pixels.

// bgColour is the opaque background of opts (white by default) as 8-bit RGB.
func bgColour(o *DecodeOptions) [3]uint8 {
	if o == nil || o.Background == nil {
		return [3]uint8{255, 255, 255}
	}
	r, g, b, _ := o.Background.RGBA()
	return [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
}

// coef1 is Pillow's ImagingAlphaComposite coefficient for a source alpha a
// over an opaque destination (PRECISION_BITS = 7):
// a*255*255*2^7 / (a*255 + 255*(255-a)), which is a*128.
var coef1 = func() (t [256]uint32) {
	for a := uint32(1); a < 256; a++ {
		blend := 255 * (255 - a)
		outa255 := a*255 + blend
		t[a] = a * 255 * 255 * (1 << 7) / outa255
	}
	return t
}()

// compositeRow composites straight-alpha pixels onto the opaque colour bg
// in place, with Pillow's alpha_composite integer arithmetic: rgb holds the
// pixels' colour, alpha their alpha samples one every step bytes.
func compositeRow(rgb, alpha []uint8, step int, bg [3]uint8) {
	n := len(rgb) / 3
	for x := 0; x < n; x++ {
		a := uint32(alpha[x*step])
		p := rgb[3*x : 3*x+3 : 3*x+3]
		switch a {
		case 0:
			p[0], p[1], p[2] = bg[0], bg[1], bg[2]
		case 255:
			// coef2 = 0: ((v*255*128 + 2^14) >> 8 + ...) >> 15 is v.
		default:
			c1 := coef1[a]
			c2 := 255*(1<<7) - c1
			for c := 0; c < 3; c++ {
				t := uint32(p[c])*c1 + uint32(bg[c])*c2 + 0x80<<7
				p[c] = uint8((((t >> 8) + t) >> 8) >> 7)
			}
		}
	}
}

// compositeSource composites rows of colour and alpha onto a background.
type compositeSource struct {
	w, h int
	bg   [3]uint8
	// fill returns row y's straight RGB (3*w bytes, written into buf so it
	// may be changed) and its alpha samples, one every step bytes.
	fill func(y int, buf []uint8) (rgb, alpha []uint8, step int)
}

func (s *compositeSource) size() (int, int) { return s.w, s.h }

func (s *compositeSource) row(y, x0, x1 int, buf []uint8) []uint8 {
	rgb, alpha, step := s.fill(y, buf)
	rgb = rgb[3*x0 : 3*x1]
	compositeRow(rgb, alpha[x0*step:], step, s.bg)
	return rgb
}

// keySource replaces the pixels of one colour (a tRNS colour key, compared
// after the 8-bit conversion as Pillow's convert_transparent does) by the
// background: alpha 0 composites to exactly the background.
type keySource struct {
	rowSource
	key, bg [3]uint8
}

func (s *keySource) row(y, x0, x1 int, buf []uint8) []uint8 {
	rgb := s.rowSource.row(y, x0, x1, buf)
	for i := 0; i+2 < len(rgb); i += 3 {
		if rgb[i] == s.key[0] && rgb[i+1] == s.key[1] && rgb[i+2] == s.key[2] {
			rgb[i], rgb[i+1], rgb[i+2] = s.bg[0], s.bg[1], s.bg[2]
		}
	}
	return rgb
}

// unpremultiply converts premultiplied samples to straight ones as Pillow's
// "RGBa" unpacker does (TIFF associated alpha): v*255/a truncated and
// clipped, 0 where a is 0.
func unpremultiply(v, a uint8) uint8 {
	switch a {
	case 0:
		return 0
	case 255:
		return v
	}
	return clamp8(int(v) * 255 / int(a))
}

// rgbaRow writes the straight RGB of premultiplied 8-bit pixels (step 4) or
// of the high bytes of premultiplied 16-bit big-endian pixels (step 8).
func rgbaRow(dst, src []uint8, w, step int) {
	src = src[:step*w]
	dst = dst[:3*w]
	for x := 0; x < w; x++ {
		p := src[step*x:]
		a := p[3*step/4]
		dst[3*x] = unpremultiply(p[0], a)
		dst[3*x+1] = unpremultiply(p[step/4], a)
		dst[3*x+2] = unpremultiply(p[step/2], a)
	}
}

// alphaSource returns a compositing row source for an image with an alpha
// band (as Pillow opens it), or nil if img has none. Paletted images count
// when a palette entry is not opaque. base, if not nil, gives the colour of
// an *image.NYCbCrA (lossy WebP's conversion instead of JPEG's).
func alphaSource(img image.Image, base rowSource, bg [3]uint8) rowSource {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	s := &compositeSource{w: w, h: h, bg: bg}
	switch m := img.(type) {
	case *image.NRGBA:
		s.fill = func(y int, buf []uint8) ([]uint8, []uint8, int) {
			row := m.Pix[y*m.Stride:]
			pick4(buf, row, w)
			return buf[:3*w], row[3:], 4
		}
	case *image.NRGBA64:
		s.fill = func(y int, buf []uint8) ([]uint8, []uint8, int) {
			row := m.Pix[y*m.Stride:]
			pick8(buf, row, w)
			return buf[:3*w], row[6:], 8
		}
	case *image.RGBA:
		s.fill = func(y int, buf []uint8) ([]uint8, []uint8, int) {
			row := m.Pix[y*m.Stride:]
			rgbaRow(buf, row, w, 4)
			return buf[:3*w], row[3:], 4
		}
	case *image.RGBA64:
		s.fill = func(y int, buf []uint8) ([]uint8, []uint8, int) {
			row := m.Pix[y*m.Stride:]
			rgbaRow(buf, row, w, 8)
			return buf[:3*w], row[6:], 8
		}
	case *image.NYCbCrA:
		inner := base
		if inner == nil {
			inner = sourceOf(&m.YCbCr)
		}
		s.fill = func(y int, buf []uint8) ([]uint8, []uint8, int) {
			return inner.row(y, 0, w, buf), m.A[m.AOffset(b.Min.X, b.Min.Y+y):], 1
		}
	case *image.Paletted:
		return palettedAlpha(m, s)
	case *image.Gray, *image.Gray16, *image.CMYK, *image.YCbCr, *RGB, *jpeg.YCCK:
		return nil
	default:
		if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
			return nil
		}
		s.fill = func(y int, buf []uint8) ([]uint8, []uint8, int) {
			rgb, alpha := buf[:3*w], buf[3*w:4*w]
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				rgb[3*x], rgb[3*x+1], rgb[3*x+2], alpha[x] = c.R, c.G, c.B, c.A
			}
			return rgb, alpha, 1
		}
	}
	return s
}

// palettedAlpha composites a paletted image whose palette has transparent
// entries (Pillow's P -> RGBA with the palette's alpha); nil if none has.
func palettedAlpha(m *image.Paletted, s *compositeSource) rowSource {
	var pal [256][4]uint8
	transparent := false
	for i := range pal {
		pal[i][3] = 255
	}
	for i, c := range m.Palette {
		if i >= 256 {
			break
		}
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		if n.A != 255 {
			transparent = true
		}
		if rgb := straightRGB(c); n.A == 0 {
			// Go's decoders hold a transparent entry's colour in an
			// NRGBA; keep it (it composites to the background anyway).
			pal[i] = [4]uint8{rgb[0], rgb[1], rgb[2], 0}
		} else {
			pal[i] = [4]uint8{n.R, n.G, n.B, n.A}
		}
	}
	if !transparent {
		return nil
	}
	w := s.w
	s.fill = func(y int, buf []uint8) ([]uint8, []uint8, int) {
		rgb, alpha := buf[:3*w], buf[3*w:4*w]
		for x, v := range m.Pix[y*m.Stride : y*m.Stride+w] {
			c := pal[v]
			rgb[3*x], rgb[3*x+1], rgb[3*x+2], alpha[x] = c[0], c[1], c[2], c[3]
		}
		return rgb, alpha, 1
	}
	return s
}

// memorySource is the row source of an in-memory image under o's
// transparency setting.
func memorySource(img image.Image, o *DecodeOptions) rowSource {
	if o != nil && o.openCLIP {
		return &modeSource{sourceOf(img), modeOfImage(img, "", nil, nil)}
	}
	if o == nil || !o.DropAlpha {
		if s := alphaSource(img, nil, bgColour(o)); s != nil {
			return s
		}
	}
	return sourceOf(img)
}
