package imageproc

import (
	"image"
	"math"

	"github.com/goclip/goclip/imageproc/internal/jpeg"
)

// Pillow modes whose resize does not commute with convert("RGB"), which
// open_clip applies after resizing: RGBA and LA are resized premultiplied
// (Image.resize converts to "RGBa" / "La", resizes, and converts back).

// rgbaRows serves an image with alpha as Pillow's premultiplied "RGBa"
// colour (MULDIV255(v, a), rounded) or, with alpha set, as its alpha band
// in all three bytes, so that the 3-channel resampler runs each band.
type rgbaRows struct {
	src   *compositeSource // straight colour and alpha
	alpha bool
}

func (s *rgbaRows) size() (int, int) { return s.src.w, s.src.h }

func (s *rgbaRows) row(y, x0, x1 int, buf []uint8) []uint8 {
	rgb, alpha, step := s.src.fill(y, buf) // rgb lies in buf, before any alpha there
	out := rgb[3*x0 : 3*x1]
	for i := 0; i < x1-x0; i++ {
		a := alpha[(x0+i)*step]
		p := out[3*i : 3*i+3 : 3*i+3]
		if s.alpha {
			p[0], p[1], p[2] = a, a, a
			continue
		}
		for c := range p {
			t := uint32(p[c])*uint32(a) + 128
			p[c] = uint8(((t >> 8) + t) >> 8)
		}
	}
	return out
}

// resizeRGBA is Pillow's resize of an RGBA image followed by
// convert("RGB"): premultiply, resample colour and alpha, un-premultiply
// as its rgba2rgbA does (v*255/a truncated and clipped; unchanged where a is 0 or 255).
func resizeRGBA(src *compositeSource, rw, rh, ox, oy, s int, mode weightMode, workers int) []uint8 {
	lv := resizeCrop(&rgbaRows{src: src}, rw, rh, ox, oy, s, s, mode, workers)
	la := resizeCrop(&rgbaRows{src: src, alpha: true}, rw, rh, ox, oy, s, s, mode, workers)
	for i, a := range la {
		if a != 0 && a != 255 {
			lv[i] = clamp8(int(lv[i]) * 255 / int(a))
		}
	}
	return lv
}

// alphaRows returns the straight colour and alpha of an image Pillow opens
// with an alpha band, or nil. base, if not nil, is the colour source of an
// *image.NYCbCrA.
func alphaRows(img image.Image, base rowSource) *compositeSource {
	cs, _ := alphaSource(img, base, [3]uint8{}).(*compositeSource)
	return cs
}

// CMYK is resized band by band in CMYK and converted to RGB afterwards.

// cmykRows serves a CMYK image's C, M, Y bands or, with k set, its K band
// in all three bytes. rows returns columns [x0, x1) of row y as Pillow's
// CMYK samples (4 bytes a pixel), in buf or in the image.
type cmykRows struct {
	w, h int
	rows func(y, x0, x1 int, buf []uint8) []uint8
	k    bool
}

func (s *cmykRows) size() (int, int) { return s.w, s.h }

func (s *cmykRows) row(y, x0, x1 int, buf []uint8) []uint8 {
	px := s.rows(y, x0, x1, buf[:4*(x1-x0)])
	// In place when px is buf: pixel i is read before bytes 3i..3i+2,
	// which lie below pixel i+1, are written.
	out := buf[:3*(x1-x0)]
	for i := range x1 - x0 {
		c, m, yy, k := px[4*i], px[4*i+1], px[4*i+2], px[4*i+3]
		if s.k {
			c, m, yy = k, k, k
		}
		out[3*i], out[3*i+1], out[3*i+2] = c, m, yy
	}
	return out
}

// cmykSource returns the CMYK rows of a *image.CMYK or a YCCK JPEG (whose
// Pillow samples are R, G, B and 255 - K, see ycckSource), or nil.
func cmykSource(img image.Image) *cmykRows {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	switch m := img.(type) {
	case *image.CMYK:
		return &cmykRows{w: w, h: h, rows: func(y, x0, x1 int, _ []uint8) []uint8 {
			return m.Pix[y*m.Stride+4*x0 : y*m.Stride+4*x1]
		}}
	case *jpeg.YCCK:
		planes := newJPEGSource(m.YCbCr)
		if planes == nil {
			return nil
		}
		return &cmykRows{w: w, h: h, rows: func(y, x0, x1 int, buf []uint8) []uint8 {
			rgb := planes.row(y, x0, x1, make([]uint8, 5*w+2))
			k := m.K[y*m.KStride:]
			for i := range x1 - x0 {
				copy(buf[4*i:4*i+3], rgb[3*i:3*i+3])
				buf[4*i+3] = 255 - k[x0+i]
			}
			return buf
		}}
	}
	return nil
}

// resizeCMYK is Pillow's resize of a CMYK image followed by
// convert("RGB") (cmyk2rgb).
func resizeCMYK(src *cmykRows, rw, rh, ox, oy, s int, mode weightMode, workers int) []uint8 {
	k := *src
	k.k = true
	lv := resizeCrop(src, rw, rh, ox, oy, s, s, mode, workers)
	lk := resizeCrop(&k, rw, rh, ox, oy, s, s, mode, workers)
	var px [4]uint8
	for i := 0; i < len(lv); i += 3 {
		px = [4]uint8{lv[i], lv[i+1], lv[i+2], lk[i]}
		cmykRow(lv[i:i+3], px[:], 1)
	}
	return lv
}

// Mode I;16 (16-bit greyscale PNG) is resized in 16 bits with Pillow's
// ImagingResample*_16bpc (float64 weights, no fixed point), then
// convert("RGB") clips at 255.

// resizeGray16 resamples m to rw x rh and returns the s x s window at
// (ox, oy) as RGB levels, 0 outside. Like Pillow it resamples rows first
// (only those the window needs), then columns, each pass stored in 16 bits.
func resizeGray16(m *image.Gray16, rw, rh, ox, oy, s int, mode weightMode) []uint8 {
	w, h := m.Bounds().Dx(), m.Bounds().Dy()
	px := func(y, x int) int32 { return int32(m.Pix[y*m.Stride+2*x])<<8 | int32(m.Pix[y*m.Stride+2*x+1]) }
	y0, y1 := max(oy, 0), min(oy+s, rh) // output rows in the window
	if y0 >= y1 {
		return make([]uint8, 3*s*s)
	}
	// Input rows the vertical pass reads for those outputs.
	r0, r1 := y0, y1
	var vf tapFilter
	if rh != h {
		vf = newTapFilter(h, rh, mode)
		k := make([]float64, vf.n)
		r0, r1 = h, 0
		for y := y0; y < y1; y++ {
			lo, n := vf.weights(y, k)
			r0, r1 = min(r0, lo), max(r1, lo+n)
		}
	}
	// rows[r-r0][x]: input row r resampled to rw columns.
	rows := make([]int32, (r1-r0)*rw)
	if rw != w {
		hf := newTapFilter(w, rw, mode)
		resample16(rows, rw, r1-r0, hf, func(l, j int) int32 { return px(r0+l, j) })
	} else {
		for r := r0; r < r1; r++ {
			for x := range rw {
				rows[(r-r0)*rw+x] = px(r, x)
			}
		}
	}
	out := make([]uint8, 3*s*s)
	k := make([]float64, vf.n)
	for y := y0; y < y1; y++ {
		lo, n := y-r0, 1
		if rh != h {
			var a int
			a, n = vf.weights(y, k)
			lo = a - r0
		}
		for x := max(ox, 0); x < min(ox+s, rw); x++ {
			v := rows[lo*rw+x]
			if rh != h {
				ss := 0.0
				for j := range n {
					ss += float64(float64(rows[(lo+j)*rw+x]) * k[j])
				}
				v = int32(store16(roundUp(ss)))
			}
			l := uint8(min(v, 255)) // convert("RGB") of I;16 clips at 255
			i := 3 * ((y-oy)*s + x - ox)
			out[i], out[i+1], out[i+2] = l, l, l
		}
	}
	return out
}

// resample16 is one pass of Pillow's ImagingResampleHorizontal_16bpc:
// lines of samples get(l, j) resampled with f into dst[l*out+i], each sum
// of float64 products rounded half away from zero and stored as Pillow
// stores 16 bits.
func resample16(dst []int32, out, lines int, f tapFilter, get func(l, j int) int32) {
	k := make([]float64, f.n)
	for i := range out {
		xmin, xsize := f.weights(i, k)
		for l := range lines {
			ss := 0.0
			for j := range xsize {
				ss += float64(float64(get(l, xmin+j)) * k[j])
			}
			dst[l*out+i] = int32(store16(roundUp(ss)))
		}
	}
}

// roundUp is Pillow's ROUND_UP: halves away from zero.
func roundUp(f float64) int {
	if f >= 0 {
		return int(math.Floor(f + 0.5))
	}
	return -int(math.Floor(math.Abs(f) + 0.5))
}

// store16 is what Pillow's 16bpc resampler stores for a rounded sum v:
// low byte CLIP8(v % 256), high byte CLIP8(v >> 8), with C's truncated %.
func store16(v int) int {
	return int(clamp8(v>>8))<<8 | int(clamp8(v%256))
}
