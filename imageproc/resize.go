package imageproc

import (
	"math"
	"sync"
)

// Antialiased bicubic resampling of 8-bit RGB, computed the way ATen's
// uint8 path for torch.nn.functional.interpolate(mode="bicubic",
// antialias=True) does it (what torchvision's resize runs for
// transformers 5's CLIPImageProcessor), or the way Pillow's
// Image.resize(BICUBIC) does it (transformers 4). Both are separable:
// a horizontal pass into an 8-bit intermediate (rounded and clamped), then
// a vertical pass, with Keys' a = -0.5 cubic stretched by the downscale
// factor, weights normalised to sum 1 in float64 and then turned into
// fixed point. They differ only in the fixed point: ATen uses int16 weights
// with the most fractional bits that keep the largest weight below 2^15;
// Pillow uses 22 fractional bits.

// weightMode selects the fixed-point weights.
type weightMode int

const (
	weightsTorch          weightMode = iota // ATen: int16, dynamic precision
	weightsPillow                           // Pillow: 22-bit precision
	weightsTorchBilinear                    // ATen's antialiased bilinear (triangle filter), int16 as weightsTorch
	weightsPillowBilinear                   // Pillow's bilinear (the same triangle filter), 22 bits
)

// taps are the fixed-point filter weights of one pass for the outputs
// lo..lo+len(start)-1.
type taps struct {
	start []int   // first input index of each output
	size  []int   // number of inputs of each output
	n     int     // weights stored per output
	w     []int32 // len(start)*n weights
	prec  uint    // fractional bits
}

// cubicTorch is ATen's HelperInterpCubic::aa_filter (a = -0.5). Each
// product is rounded to float64 on its own (no fused multiply-add), as
// in the C++.
func cubicTorch(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	if x < 1 {
		return float64(float64(float64((a+2)*x)-(a+3))*x)*x + 1
	}
	if x < 2 {
		return float64(float64(float64(float64(a*x)-5*a)*x)+8*a)*x - 4*a
	}
	return 0
}

// linearTorch is ATen's HelperInterpLinear::aa_filter, which is also
// Pillow's bilinear_filter.
func linearTorch(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return 1 - x
	}
	return 0
}

// cubicPillow is Pillow's bicubic_filter (a = -0.5).
func cubicPillow(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	if x < 1 {
		return float64(float64(float64((a+2)*x)-(a+3))*x)*x + 1
	}
	if x < 2 {
		return float64(float64(float64(float64(x-5)*x)+8)*x-4) * a
	}
	return 0
}

// makeTaps computes the weights resampling inSize samples to outSize for
// outputs [lo, hi) only. Pillow's precision is fixed (22 bits). ATen's
// depends on the largest weight over all outputs, so in that mode the
// largest weight of every output is computed too (no storage); callers
// bound outSize (Processor rejects images whose aspect ratio exceeds
// DecodeOptions.MaxAspect before resizing), which bounds that loop.
func makeTaps(inSize, outSize, lo, hi int, mode weightMode) *taps {
	f := newTapFilter(inSize, outSize, mode)
	n := f.n
	t := &taps{start: make([]int, hi-lo), size: make([]int, hi-lo), n: n, w: make([]int32, (hi-lo)*n)}
	wf := make([]float64, (hi-lo)*n)
	for i := lo; i < hi; i++ {
		t.start[i-lo], t.size[i-lo] = f.weights(i, wf[(i-lo)*n:(i-lo+1)*n])
	}
	t.prec = 22
	if mode == weightsTorch || mode == weightsTorchBilinear {
		// _compute_index_ranges_int16_weights: precision from the largest
		// weight over the whole output.
		k := make([]float64, n)
		wmax := 0.0
		for i := 0; i < outSize; i++ {
			_, xsize := f.weights(i, k)
			for _, v := range k[:xsize] {
				wmax = max(wmax, v)
			}
		}
		var p uint
		for p = 0; p < 22; p++ {
			if int(0.5+float64(wmax*float64(int(1)<<(p+1)))) >= 1<<15 {
				break
			}
		}
		t.prec = p
	}
	one := float64(int(1) << t.prec)
	for i, v := range wf {
		v = float64(v * one) // rounded before the +-0.5 (no fused multiply-add)
		if v < 0 {
			t.w[i] = int32(-0.5 + v)
		} else {
			t.w[i] = int32(0.5 + v)
		}
	}
	return t
}

// tapFilter is the antialiased cubic of one resampling pass.
type tapFilter struct {
	inSize                   int
	scale, support, invscale float64
	n                        int
	filter                   func(float64) float64
}

func newTapFilter(inSize, outSize int, mode weightMode) tapFilter {
	// support: interp_size/2 (cubic 4, linear 2), stretched when shrinking.
	f := tapFilter{inSize: inSize, scale: float64(inSize) / float64(outSize), support: 2, invscale: 1, filter: cubicTorch}
	switch mode {
	case weightsPillow:
		f.filter = cubicPillow
	case weightsTorchBilinear, weightsPillowBilinear:
		f.support, f.filter = 1, linearTorch
	}
	if f.scale >= 1 {
		f.support *= f.scale
		f.invscale = 1 / f.scale
	}
	f.n = int(math.Ceil(f.support))*2 + 1
	return f
}

// weights writes the normalised weights of output i into k (len >= n) and
// returns its first input index and number of inputs.
func (f *tapFilter) weights(i int, k []float64) (xmin, xsize int) {
	center := f.scale * (float64(i) + 0.5)
	xmin = max(int(center-f.support+0.5), 0)
	xsize = min(int(center+f.support+0.5), f.inSize) - xmin
	xsize = max(0, min(xsize, f.n))
	total := 0.0
	for j := 0; j < xsize; j++ {
		k[j] = f.filter((float64(j+xmin) - center + 0.5) * f.invscale)
		total += k[j]
	}
	if total != 0 {
		for j := 0; j < xsize; j++ {
			k[j] /= total
		}
	}
	return xmin, xsize
}

// shift8 rounds a fixed-point accumulator (which started at half) to 8 bits.
func shift8(v int32, prec uint) uint8 {
	v >>= prec
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// resizeCrop resamples src to rw x rh and returns the cw x ch window at
// (ox, oy) of the result as interleaved RGB; pixels of the window outside
// the resampled image (negative offsets: padding) are 0. Only the inputs
// the window needs are resampled. workers bounds the goroutines used.
func resizeCrop(src rowSource, rw, rh, ox, oy, cw, ch int, mode weightMode, workers int) []uint8 {
	sw, sh := src.size()
	out := make([]uint8, 3*cw*ch)
	// The window clipped to the resampled image, in resampled coordinates.
	x0, x1 := max(ox, 0), min(ox+cw, rw)
	y0, y1 := max(oy, 0), min(oy+ch, rh)
	if x0 >= x1 || y0 >= y1 {
		return out
	}
	workers = max(1, workers)
	// Vertical taps decide which input rows the horizontal pass needs, the
	// horizontal ones which input columns.
	var vt, ht *taps
	r0, r1 := y0, y1
	if rh != sh {
		vt = makeTaps(sh, rh, y0, y1, mode)
		r0, r1 = vt.span(sh)
	}
	c0, c1 := x0, x1
	if rw != sw {
		ht = makeTaps(sw, rw, x0, x1, mode)
		c0, c1 = ht.span(sw)
	}
	tmp := horizontalPass(src, ht, r0, r1, c0, c1, x1-x0, workers)
	verticalPass(out, tmp, vt, r0, y0, y1, x0-ox, y0-oy, cw, x1-x0, workers)
	return out
}

// span is the range of input indices the taps read.
func (t *taps) span(n int) (lo, hi int) {
	lo, hi = n, 0
	for i, s := range t.start {
		lo, hi = min(lo, s), max(hi, s+t.size[i])
	}
	return lo, hi
}

// horizontalPass resamples input rows r0..r1-1 (columns c0..c1-1 read)
// to nx output columns with ht (nil: copy), two rows at a time, into a
// [r1-r0, nx, 3] buffer.
func horizontalPass(src rowSource, ht *taps, r0, r1, c0, c1, nx, workers int) []uint8 {
	sw, _ := src.size()
	tmp := make([]uint8, 3*nx*(r1-r0))
	parallel((r1-r0+1)/2, workers, func(a, b int) {
		bufA, bufB := make([]uint8, 5*sw+2), make([]uint8, 5*sw+2)
		var pk [3][]int64
		for c := range pk {
			pk[c] = make([]int64, c1-c0)
		}
		for r := 2 * a; r < min(2*b, r1-r0); r += 2 {
			rowA := src.row(r0+r, c0, c1, bufA)
			dstA := tmp[3*nx*r : 3*nx*(r+1)]
			if ht == nil {
				copy(dstA, rowA)
				if r+1 < r1-r0 {
					copy(tmp[3*nx*(r+1):3*nx*(r+2)], src.row(r0+r+1, c0, c1, bufB))
				}
				continue
			}
			rowB, dstB := rowA, []uint8(nil)
			if r+1 < r1-r0 {
				rowB = src.row(r0+r+1, c0, c1, bufB)
				dstB = tmp[3*nx*(r+1) : 3*nx*(r+2)]
			}
			horizontal2(dstA, dstB, rowA, rowB, ht, c0, pk)
		}
	})
	return tmp
}

// verticalPass resamples tmp (input rows from r0) with vt (nil: copy) to
// output rows y0..y1-1, written to out [ch, cw, 3] at column dx and row
// dy + (i - y0).
func verticalPass(out, tmp []uint8, vt *taps, r0, y0, y1, dx, dy, cw, nx, workers int) {
	parallel(y1-y0, workers, func(a, b int) {
		acc := make([]int32, 3*nx)
		for i := a; i < b; i++ {
			dst := out[3*(cw*(dy+i)+dx):][:3*nx]
			if vt == nil {
				copy(dst, tmp[3*nx*(y0+i-r0):][:3*nx])
				continue
			}
			half := int32(1) << (vt.prec - 1)
			for j := range acc {
				acc[j] = half
			}
			s := vt.start[i] - r0
			ws := vt.w[i*vt.n : i*vt.n+vt.size[i]]
			for k, w := range ws {
				row := tmp[3*nx*(s+k):][:len(acc)]
				for j, v := range row {
					acc[j] += int32(v) * w
				}
			}
			for j, v := range acc {
				dst[j] = shift8(v, vt.prec)
			}
		}
	})
}

// horizontal2 resamples two RGB rows (columns c0.. of the input) with
// taps t into dstA and dstB (dstB may be nil). Each channel of both rows
// shares one int64 multiply-accumulate: row A in the low 32 bits, row B in
// the high ones. A lane's sum is at most 255 * sum|w| + 2^(prec-1) with
// sum|w| about 1.2 * 2^prec and prec <= 22, so below 2^31 in magnitude:
// the low lane's sign borrows from the high one and is undone exactly when
// the lanes are separated. pk is scratch of len(rowA)/3 per channel.
func horizontal2(dstA, dstB, rowA, rowB []uint8, t *taps, c0 int, pk [3][]int64) {
	n := len(rowA) / 3
	pr, pg, pb := pk[0][:n], pk[1][:n], pk[2][:n]
	rowA, rowB = rowA[:3*n], rowB[:3*n]
	for x := range pr {
		a, b := rowA[3*x:3*x+3], rowB[3*x:3*x+3]
		pr[x] = int64(a[0]) | int64(b[0])<<32
		pg[x] = int64(a[1]) | int64(b[1])<<32
		pb[x] = int64(a[2]) | int64(b[2])<<32
	}
	half := int64(1)<<(t.prec-1) | int64(1)<<(t.prec-1+32)
	for i, s := range t.start {
		ws := t.w[i*t.n : i*t.n+t.size[i]]
		s -= c0
		ar, ag, ab := dot3(ws, pr[s:s+len(ws)], pg[s:s+len(ws)], pb[s:s+len(ws)], half)
		d := dstA[3*i : 3*i+3]
		lr, lg, lb := int32(ar), int32(ag), int32(ab)
		d[0], d[1], d[2] = shift8(lr, t.prec), shift8(lg, t.prec), shift8(lb, t.prec)
		if dstB != nil {
			d = dstB[3*i : 3*i+3]
			d[0] = shift8(int32((ar-int64(lr))>>32), t.prec)
			d[1] = shift8(int32((ag-int64(lg))>>32), t.prec)
			d[2] = shift8(int32((ab-int64(lb))>>32), t.prec)
		}
	}
}

// dot3 returns init plus the dot products of w with r, g and b. Kept out
// of line so that its loop has the registers to itself.
//
//go:noinline
func dot3(w []int32, r, g, b []int64, init int64) (ar, ag, ab int64) {
	ar, ag, ab = init, init, init
	r, g, b = r[:len(w)], g[:len(w)], b[:len(w)]
	for k, w32 := range w {
		x := int64(w32)
		ar += r[k] * x
		ag += g[k] * x
		ab += b[k] * x
	}
	return
}

// parallel runs fn over [0, n) split into at most workers contiguous parts.
func parallel(n, workers int, fn func(a, b int)) {
	if workers <= 1 || n < 2*workers {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		a, b := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(a, b)
		}()
	}
	wg.Wait()
}
