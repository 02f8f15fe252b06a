package imageproc

import "image"

// Chroma upsampling and YCbCr -> RGB conversion done the way the C
// libraries behind Pillow do it, from the Y/Cb/Cr planes that Go's decoders
// return: libjpeg-turbo's "fancy" (triangle-filter) upsampling and its
// 16-bit fixed-point JFIF conversion for JPEG, and libwebp's fancy
// upsampler and 14-bit fixed-point limited-range BT.601 conversion for
// lossy WebP.

// ycbcrPlanes is an image.YCbCr with bounds at the origin, reduced to what
// the converters need. cw, ch are the chroma planes' real sizes
// (libjpeg's downsampled_width/height), not the decoder's padded ones.
type ycbcrPlanes struct {
	y, cb, cr     []uint8
	yStride, cStr int
	w, h, cw, ch  int
	hs, vs        int  // horizontal and vertical subsampling factors (1, 2 or 4)
	webp          bool // libwebp conversion instead of libjpeg's
}

// planesOf validates m and returns its planes, or nil if the layout is one
// the fast paths do not handle (non-origin bounds with subsampling).
func planesOf(m *image.YCbCr) *ycbcrPlanes {
	var hs, vs int
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		hs, vs = 1, 1
	case image.YCbCrSubsampleRatio422:
		hs, vs = 2, 1
	case image.YCbCrSubsampleRatio420:
		hs, vs = 2, 2
	case image.YCbCrSubsampleRatio440:
		hs, vs = 1, 2
	case image.YCbCrSubsampleRatio411:
		hs, vs = 4, 1
	case image.YCbCrSubsampleRatio410:
		hs, vs = 4, 2
	default:
		return nil
	}
	r := m.Rect
	if r.Empty() || r.Min.X%hs != 0 || r.Min.Y%vs != 0 {
		return nil
	}
	w, h := r.Dx(), r.Dy()
	p := &ycbcrPlanes{
		yStride: m.YStride, cStr: m.CStride,
		w: w, h: h, cw: (w + hs - 1) / hs, ch: (h + vs - 1) / vs, hs: hs, vs: vs,
	}
	yo := m.YOffset(r.Min.X, r.Min.Y)
	co := m.COffset(r.Min.X, r.Min.Y)
	if yo+(h-1)*m.YStride+w > len(m.Y) || co+(p.ch-1)*m.CStride+p.cw > len(m.Cb) ||
		co+(p.ch-1)*m.CStride+p.cw > len(m.Cr) {
		return nil
	}
	p.y, p.cb, p.cr = m.Y[yo:], m.Cb[co:], m.Cr[co:]
	return p
}

func (p *ycbcrPlanes) size() (int, int) { return p.w, p.h }

// row converts one row. The chroma rows it upsamples are kept in the tail
// of buf when it is long enough (5*w+2 bytes), else in a
// fresh slice.
func (p *ycbcrPlanes) row(y, x0, x1 int, buf []uint8) []uint8 {
	out := buf[:3*(x1-x0)]
	if p.webp {
		p.webpRow(y, x0, x1, out, buf)
	} else {
		p.jpegRow(y, x0, x1, out, buf)
	}
	return out
}

// chromaScratch returns two slices of w+1 bytes (room for an odd width's
// padding sample) for upsampled Cb and Cr.
func chromaScratch(buf []uint8, w int) ([]uint8, []uint8) {
	if len(buf) >= 5*w+2 {
		return buf[3*w : 4*w+1], buf[4*w+1 : 5*w+2]
	}
	t := make([]uint8, 2*w+2)
	return t[:w+1], t[w+1:]
}

// newJPEGSource returns a row source converting m like libjpeg-turbo with
// do_fancy_upsampling (Pillow's default), or nil if m's layout is unusual.
func newJPEGSource(m *image.YCbCr) *ycbcrPlanes { return planesOf(m) }

// newWebPSource returns a row source converting m like libwebp's RGB output
// with fancy upsampling, or nil if m is not 4:2:0 at the origin.
func newWebPSource(m *image.YCbCr) *ycbcrPlanes {
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 || m.Rect.Min != (image.Point{}) {
		return nil
	}
	p := planesOf(m)
	if p != nil {
		p.webp = true
	}
	return p
}

// jpegRow: libjpeg-turbo jdsample.c (h2v1/h2v2/h1v2 fancy upsamplers,
// replication otherwise) followed by jdcolor.c ycc_rgb_convert.
func (p *ycbcrPlanes) jpegRow(y, x0, x1 int, out, buf []uint8) {
	w := p.w
	ub, vb := chromaScratch(buf, w)
	for c, plane := range [2][]uint8{p.cb, p.cr} {
		dst := ub
		if c == 1 {
			dst = vb
		}
		p.jpegUpsample(plane, y, x0, x1, dst)
	}
	yr := p.y[y*p.yStride+x0 : y*p.yStride+x1]
	out = out[:3*len(yr)]
	ub, vb = ub[x0:x1], vb[x0:x1]
	for x, yv := range yr {
		yy := int(yv)
		cb := int(ub[x]) - 128
		cr := int(vb[x]) - 128
		// FIX(1.40200)=91881, FIX(1.77200)=116130, FIX(0.71414)=46802,
		// FIX(0.34414)=22554; SCALEBITS 16, ONE_HALF 1<<15.
		o := out[3*x : 3*x+3]
		o[0] = clampFast(yy + (91881*cr+32768)>>16)
		o[1] = clampFast(yy + (-22554*cb-46802*cr+32768)>>16)
		o[2] = clampFast(yy + (116130*cb+32768)>>16)
	}
}

// jpegUpsample writes the upsampled chroma of image row y into dst[:w];
// the 4:2:0 path (the common and costly one) fills only columns [x0, x1).
func (p *ycbcrPlanes) jpegUpsample(plane []uint8, y, x0, x1 int, dst []uint8) {
	w, cw := p.w, p.cw
	k := y / p.vs
	cur := plane[k*p.cStr : k*p.cStr+cw]
	fancy := p.cw > 2 // libjpeg uses plain replication for tiny widths
	switch {
	case p.hs == 1 && p.vs == 1:
		copy(dst[:w], cur)
	case p.hs == 2 && p.vs == 1 && fancy: // h2v1_fancy_upsample
		for i := 0; i < cw; i++ {
			v := int(cur[i]) * 3
			l, r := int(cur[i]), int(cur[i])
			if i > 0 {
				l = int(cur[i-1])
			}
			if i < cw-1 {
				r = int(cur[i+1])
			}
			a, b := (v+l+1)>>2, (v+r+2)>>2
			if i == 0 {
				a = int(cur[0])
			}
			if i == cw-1 {
				b = int(cur[i])
			}
			put2(dst, w, 2*i, uint8(a), uint8(b))
		}
	case p.hs == 2 && p.vs == 2 && fancy: // h2v2_fancy_upsample
		other := p.neighbourRow(plane, y, k)
		cur, other = cur[:cw], other[:cw]
		var tmp []uint8
		if len(dst) >= 2*cw {
			tmp = dst[:2*cw] // the chroma scratch has room for the padding column
		} else {
			tmp = make([]uint8, 2*cw)
		}
		i0, i1 := x0/2, min((x1+1)/2, cw)
		this := int(cur[i0])*3 + int(other[i0])
		last := this
		if i0 > 0 {
			last = int(cur[i0-1])*3 + int(other[i0-1])
		}
		for i := i0; i < i1; i++ {
			next := this
			if i+1 < cw {
				next = int(cur[i+1])*3 + int(other[i+1])
			}
			a := (this*3 + last + 8) >> 4
			if i == 0 {
				a = (this*4 + 8) >> 4
			}
			b := (this*3 + next + 7) >> 4
			if i == cw-1 {
				b = (this*4 + 7) >> 4
			}
			o := tmp[2*i : 2*i+2]
			o[0], o[1] = uint8(a), uint8(b)
			last, this = this, next
		}
		if &tmp[0] != &dst[0] {
			copy(dst[:w], tmp)
		}
	case p.hs == 1 && p.vs == 2: // h1v2_fancy_upsample
		other := p.neighbourRow(plane, y, k)
		bias := 1 + y&1
		for i := 0; i < w; i++ {
			dst[i] = uint8((int(cur[i])*3 + int(other[i]) + bias) >> 2)
		}
	default: // int_upsample / h2v1_upsample / h2v2_upsample: replication
		for x := 0; x < w; x++ {
			dst[x] = cur[x/p.hs]
		}
	}
}

// neighbourRow is the chroma row that libjpeg's context buffer pairs with
// row k for image row y: the one above for the upper output row, below for
// the lower, replicated at the image edges.
func (p *ycbcrPlanes) neighbourRow(plane []uint8, y, k int) []uint8 {
	n := k + 1
	if y&1 == 0 {
		n = k - 1
	}
	n = max(0, min(n, p.ch-1))
	return plane[n*p.cStr : n*p.cStr+p.cw]
}

func put2(dst []uint8, w, x int, a, b uint8) {
	dst[x] = a
	if x+1 < w {
		dst[x+1] = b
	}
}

// webpRow: libwebp's UpsampleRgbLinePair (src/dsp/upsampling.c) and
// VP8YuvToRgb (src/dsp/yuv.h).
func (p *ycbcrPlanes) webpRow(y, x0, x1 int, out, buf []uint8) {
	w := p.w
	ub, vb := chromaScratch(buf, w)
	// Output rows come in pairs (2k-1, 2k) between chroma rows k-1 and k;
	// row 0, and the last row of an even-height image, pair a chroma row
	// with itself.
	var top, cur int
	bottom := false
	switch {
	case y == 0:
		top, cur = 0, 0
	case y&1 == 1:
		top, cur = (y-1)/2, min((y+1)/2, p.ch-1)
	default:
		top, cur, bottom = y/2-1, y/2, true
	}
	for c, plane := range [2][]uint8{p.cb, p.cr} {
		dst := ub
		if c == 1 {
			dst = vb
		}
		t := plane[top*p.cStr : top*p.cStr+p.cw]
		u := plane[cur*p.cStr : cur*p.cStr+p.cw]
		webpUpsample(t, u, dst[:w], bottom)
	}
	yr := p.y[y*p.yStride+x0 : y*p.yStride+x1]
	out = out[:3*len(yr)]
	ub, vb = ub[x0:x1], vb[x0:x1]
	for x := range yr {
		yy := (int(yr[x]) * 19077) >> 8
		u, v := int(ub[x]), int(vb[x])
		out[3*x] = webpClip(yy + (v*26149)>>8 - 14234)
		out[3*x+1] = webpClip(yy - (u*6419)>>8 - (v*13320)>>8 + 8708)
		out[3*x+2] = webpClip(yy + (u*33050)>>8 - 17685)
	}
}

// clampFast is clamp8 without branches on the common in-range path.
func clampFast(v int) uint8 {
	if uint(v) > 255 {
		return uint8(^(v >> 63) & 255)
	}
	return uint8(v)
}

// webpClip is VP8Clip8: 14-bit fixed point (YUV_FIX2 = 6) to 8 bits.
func webpClip(v int) uint8 {
	if v&^16383 == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// webpUpsample computes one output row of one chroma channel from the
// chroma rows above (top) and below (cur) it: the top output row of the
// pair if !bottom, else the bottom one. Integer-exact to libwebp's packed
// two-channel arithmetic (the channels cannot carry into each other).
func webpUpsample(top, cur, dst []uint8, bottom bool) {
	n := len(dst)
	tl, l := int(top[0]), int(cur[0])
	if bottom {
		dst[0] = uint8((3*l + tl + 2) >> 2)
	} else {
		dst[0] = uint8((3*tl + l + 2) >> 2)
	}
	last := (n - 1) >> 1
	for x := 1; x <= last; x++ {
		t, u := int(top[x]), int(cur[x])
		avg := tl + t + l + u + 8
		d12 := (avg + 2*(t+l)) >> 3
		d03 := (avg + 2*(tl+u)) >> 3
		if bottom {
			dst[2*x-1] = uint8((d03 + l) >> 1)
			dst[2*x] = uint8((d12 + u) >> 1)
		} else {
			dst[2*x-1] = uint8((d12 + tl) >> 1)
			dst[2*x] = uint8((d03 + t) >> 1)
		}
		tl, l = t, u
	}
	if n&1 == 0 {
		if bottom {
			dst[n-1] = uint8((3*l + tl + 2) >> 2)
		} else {
			dst[n-1] = uint8((3*tl + l + 2) >> 2)
		}
	}
}
