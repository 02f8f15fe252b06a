package tensor

import (
	"fmt"
	"math"
	"unsafe"
)

// Precision is the number format of a Linear's weights (and, for Int8, of
// its activations inside the product). Everything outside the products —
// layer norms, softmax, GELU, residual sums, attention — stays float32.
type Precision uint8

const (
	// F32 keeps float32 weights: the parity path.
	F32 Precision = iota
	// BF16 rounds the weights to bfloat16 (nearest even) at load, halving
	// their memory; the kernels widen them to float32 in registers and
	// multiply and sum in float32, so only the weights are rounded.
	BF16
	// Int8 stores the weights as int8 with one symmetric scale per output
	// channel (a quarter of the memory). Each call quantises its input
	// rows to u8 with a scale and zero point per row (or per block of
	// QuantBlock inputs), sums the products exactly in int32 and scales the
	// sums back to float32.
	Int8
)

func (p Precision) String() string {
	switch p {
	case F32:
		return "f32"
	case BF16:
		return "bf16"
	case Int8:
		return "int8"
	}
	return fmt.Sprintf("Precision(%d)", uint8(p))
}

// lowpNR is the panel width of the reduced-precision layouts (all kernel
// sets): 16 output columns.
const lowpNR = 16

// bf16 rounds v to bfloat16, to nearest even; NaN stays a (quiet) NaN.
func bf16(v float32) uint16 {
	b := math.Float32bits(v)
	if v != v {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// bf16ToF32 widens a bfloat16 exactly.
func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// bfPos is where column j (< 16) of one k step lies in a bf16 panel: dword
// i holds column i in its low half and column 8+i in its high half, so
// that the AVX2 kernel widens a step with one shift and one mask.
func bfPos(j int) int {
	if j < 8 {
		return 2 * j
	}
	return 2*(j-8) + 1
}

// packBF16 packs rows [r0, r0+16·panels) of the stacked weight ws into bf16
// panels of lowpNR columns: panel p, step kk, column j at
// dst[p·16·k + kk·16 + bfPos(j)]; rows ≥ r1 are zero.
func packBF16(dst []uint16, ws [][]float32, r0, r1, k int) {
	rowsOf(ws, k, r0, r0+len(dst)/k, func(r int, row []float32) {
		p, j := (r-r0)/lowpNR, bfPos((r-r0)%lowpNR)
		panel := dst[p*lowpNR*k : (p+1)*lowpNR*k]
		for kk := 0; kk < k; kk++ {
			v := uint16(0)
			if r < r1 {
				v = bf16(row[kk])
			}
			panel[kk*lowpNR+j] = v
		}
	})
}

// rowsOf calls f for each row r in [r0, r1) of the stacked weight ws (rows
// of k values); row is nil beyond the stacked rows.
func rowsOf(ws [][]float32, k, r0, r1 int, f func(r int, row []float32)) {
	part, base := 0, 0
	for r := r0; r < r1; r++ {
		for part < len(ws) && r-base >= len(ws[part])/k {
			base += len(ws[part]) / k
			part++
		}
		if part == len(ws) {
			f(r, nil)
			continue
		}
		f(r, ws[part][(r-base)*k:(r-base+1)*k])
	}
}

// qweights is an int8 weight [out, in] in the panel layout of the int8
// kernels: per panel of 16 columns and per pair of inputs (kp = ⌈in/2⌉
// pairs), 32 bytes: (column j, input 2q), (column j, input 2q+1) for j =
// 0…15. Scale per output column: w ≈ q·scale.
type qweights struct {
	q     []int8    // panels·kp·32
	scale []float32 // per packed column
	block int       // inputs per activation block (even), or in: one per row
	// sum[b·cols + j] is Σ of column j's weights over block b (for the
	// activation zero point).
	sum []int32
	// smooth[k] multiplies weight column k before quantisation and
	// unsmooth[k] = 1/smooth[k] the inputs before theirs; nil: none.
	smooth, unsmooth []float32
}

// smoothing returns SmoothQuant's factors s_k = √(range_k / max_n |W[n,k]|)
// (α = ½) for the stacked weight ws, normalised to geometric mean 1 and
// clamped to [2⁻¹⁰, 2¹⁰]; a channel with no range or no weight keeps 1.
func smoothing(ws [][]float32, inputRange []float32, k int) (s, inv []float32) {
	wmax := make([]float32, k) // max |W[n,i]| over n; NaN if any is
	for _, w := range ws {
		for off := 0; off+k <= len(w); off += k {
			for i, v := range w[off : off+k] {
				if a := abs32(v); a > wmax[i] || a != a {
					wmax[i] = a
				}
			}
		}
	}
	f := make([]float64, k)
	logSum, n := 0.0, 0
	for i := range f {
		r := math.Abs(float64(inputRange[i]))
		if r > 0 && wmax[i] > 0 && !math.IsInf(r, 0) {
			f[i] = math.Sqrt(r / float64(wmax[i]))
			logSum += math.Log(f[i])
			n++
		}
	}
	g := 1.0
	if n > 0 {
		g = math.Exp(logSum / float64(n))
	}
	s, inv = make([]float32, k), make([]float32, k)
	for i, v := range f {
		x := 1.0
		if v > 0 {
			x = math.Max(0x1p-10, math.Min(0x1p10, v/g))
		}
		s[i], inv[i] = float32(x), float32(1/x)
	}
	return s, inv
}

// quantizeRow sets q to the symmetric int8 quantisation of row (scale =
// max|w|/127, round to nearest even) and returns the scale.
func quantizeRow(q []int8, row []float32) float32 {
	// max |v| on the bits: for |v| they order as the values do, with Inf
	// above every finite value and NaN above Inf, so a NaN wins.
	var m [4]uint32
	i := 0
	for ; i+4 <= len(row); i += 4 {
		for u := range m {
			m[u] = max(m[u], math.Float32bits(row[i+u])&^(1<<31))
		}
	}
	for ; i < len(row); i++ {
		m[0] = max(m[0], math.Float32bits(row[i])&^(1<<31))
	}
	amax := math.Float32frombits(max(m[0], m[1], m[2], m[3]))
	if amax == 0 || amax != amax || amax > math.MaxFloat32 {
		clear(q)
		if amax == 0 {
			return 0
		}
		return float32(math.NaN()) // a NaN or Inf weight poisons its column, as in float32
	}
	inv := 127 / amax
	for i, v := range row {
		// |v·inv| ≤ 127·(1+2⁻²³) < 127.5, so no clamp is needed; adding and
		// subtracting 1.5·2²³ rounds it to the nearest integer, ties to
		// even, in float32 (the conversion keeps the product rounded on its
		// own, never fused into the add).
		q[i] = int8(int32((float32(v*inv) + 0x1.8p23) - 0x1.8p23))
	}
	return amax / 127
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// packInt8 quantises rows [r0, r0+16·panels) of ws into int8 panels of
// pairs of inputs (kp = ⌈in/2⌉; dst holds whole panels), setting scale and
// block sums for them: the layout of the AVX2 (VPMADDWD) kernels.
func packInt8(w *qweights, panel0, panels int, ws [][]float32, r1, k int) {
	packInt8Groups(w, panel0, panels, ws, r1, k, 2)
}

// packInt8Groups packs for the dot-product layouts: per panel and per
// group of g inputs (⌈in/g⌉ groups), 16·g bytes, column j's inputs
// g·q … g·q+g-1 at g·j. Rows ≥ r1 and the pad are zero.
func packInt8Groups(w *qweights, panel0, panels int, ws [][]float32, r1, k, g int) {
	kg := (k + g - 1) / g
	cols := len(w.scale)
	nb := (k + w.block - 1) / w.block
	qrow := make([]int8, g*kg)
	srow := make([]float32, k)
	r0 := panel0 * lowpNR
	rowsOf(ws, k, r0, r0+panels*lowpNR, func(r int, row []float32) {
		clear(qrow)
		s := float32(0)
		if r < r1 && row != nil {
			if w.smooth != nil {
				for i, v := range row {
					srow[i] = v * w.smooth[i]
				}
				row = srow
			}
			s = quantizeRow(qrow[:k], row)
		}
		w.scale[r] = s
		p, j := r/lowpNR, r%lowpNR
		span := lowpNR * g
		dst := w.q[p*kg*span : (p+1)*kg*span]
		scatterGroups(dst, qrow, g, j)
		for b := 0; b < nb; b++ {
			sum := int32(0)
			for _, v := range qrow[b*w.block : min(k, (b+1)*w.block)] {
				sum += int32(v)
			}
			w.sum[b*cols+r] = sum
		}
	})
}

// scatterGroups writes column j's groups of g ∈ {2, 4} bytes, qrow[g·q :
// g·q+g], to dst[q·16g + g·j …]: whole groups at once (dst and qrow are
// allocations, so aligned for them).
func scatterGroups(dst, qrow []int8, g, j int) {
	kg := len(qrow) / g
	if g == 4 {
		src := unsafe.Slice((*uint32)(unsafe.Pointer(&qrow[0])), kg)
		d := unsafe.Slice((*uint32)(unsafe.Pointer(&dst[0])), kg*lowpNR)
		for q, v := range src {
			d[q*lowpNR+j] = v
		}
		return
	}
	src := unsafe.Slice((*uint16)(unsafe.Pointer(&qrow[0])), kg)
	d := unsafe.Slice((*uint16)(unsafe.Pointer(&dst[0])), kg*lowpNR)
	for q, v := range src {
		d[q*lowpNR+j] = v
	}
}

// quantizeActs quantises x [rows, k] (row stride k) to u8 values held in
// int16, dst [rows, 2kp] (a zero pads an odd k), with per block of
// `block` inputs a scale s and zero point z: x ≈ s·(q − z). The range
// always includes 0 (so zero padding and ReLU-like zeros are exact); q =
// clamp(round(x/s) + z, 0, 255) with round to nearest even, the rounding
// of the AVX2 conversion. Rows [r0, r1) only; sc and zp hold nb values per
// row. With unsmooth, input i is multiplied by unsmooth[i] first. Rows of
// dst are stride ≥ k values apart, zero beyond k.
func quantizeActs(dst []int16, sc []float32, zp []int32, x []float32, r0, r1, k, block int, unsmooth []float32, stride int) {
	kp2 := stride
	nb := (k + block - 1) / block
	var tmp *[]float32
	if unsmooth != nil {
		tmp = getFloats(k)
		defer floatPool.Put(tmp)
	}
	for r := r0; r < r1; r++ {
		row := x[r*k : (r+1)*k]
		if tmp != nil {
			mulTo(*tmp, row, unsmooth)
			row = *tmp
		}
		q := dst[r*kp2 : (r+1)*kp2]
		for b := 0; b < nb; b++ {
			lo, hi := b*block, min(k, (b+1)*block)
			s, z := quantizeBlock(q[lo:hi], row[lo:hi])
			sc[r*nb+b], zp[r*nb+b] = s, z
		}
		clear(q[k:])
	}
}

// quantizeBlock quantises one block (see quantizeActs).
func quantizeBlock(q []int16, x []float32) (scale float32, zero int32) {
	lo, hi := minMax(x)
	lo, hi = min(lo, 0), max(hi, 0)
	if hi == lo || hi-lo > math.MaxFloat32 || hi != hi || lo != lo {
		// All zero, or an Inf/NaN input: the sums become NaN, as a
		// float32 product would.
		clear(q)
		if hi == lo {
			return 0, 0
		}
		return float32(math.NaN()), 0
	}
	scale = (hi - lo) / 255
	inv := 1 / scale
	zero = int32(math.RoundToEven(float64(-lo * inv)))
	zero = max(0, min(255, zero))
	quantizeU8(q, x, inv, zero)
	return scale, zero
}

// quantizeU8Go is the reference of quantizeU8: q[i] = clamp(round(x[i]·inv)
// + zero, 0, 255), rounding to nearest even.
func quantizeU8Go(q []int16, x []float32, inv float32, zero int32) {
	for i, v := range x {
		t := int32(math.RoundToEven(float64(v * inv)))
		q[i] = int16(max(0, min(255, t+zero)))
	}
}

// minMaxGo is the reference of minMax (x non-empty; NaN propagates).
func minMaxGo(x []float32) (lo, hi float32) {
	lo, hi = x[0], x[0]
	for _, v := range x {
		if v != v {
			return v, v
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// mulTo sets dst[i] = x[i]·y[i].
func mulTo(dst, x, y []float32) {
	_ = dst[len(x)-1]
	_ = y[len(x)-1]
	for i, v := range x {
		dst[i] = v * y[i]
	}
}

// lowpKernel names the kernels (and with them the packed layouts) of a
// reduced-precision Linear.
type lowpKernel uint8

const (
	kGo   lowpKernel = iota // portable Go, AVX2 layouts (bf16 × float32; int8 pairs × int16)
	kAVX2                   // AVX2 (+FMA)
	// kGoVNNI is portable Go with the layouts of the dot-product kernels
	// (int8 quads × u8 quads; bf16 pairs × bf16 pairs), their reference;
	// its tiles are as tall as the tallest (AMX's), so the driver's 16-row
	// path runs on every CPU.
	kGoVNNI
	kAVXVNNI // int8: AVX-VNNI (VEX VPDPBUSD, ymm)
	kAVX512  // int8: AVX512_VNNI; bf16: AVX512_BF16
	kAMX     // int8: AMX-INT8; bf16: AMX-BF16 (16-row tiles)
)

// dot reports the layouts of the dot-product kernels.
func (k lowpKernel) dot() bool { return k >= kGoVNNI }

// maxMR is the most rows of any kernel's tile: an AMX tile's 16.
const maxMR = 16

// mr is the most rows of one tile call of k (≤ maxMR).
func (k lowpKernel) mr() int {
	switch k {
	case kAVX2, kAVXVNNI:
		return 6
	case kAVX512:
		return 8
	case kGoVNNI, kAMX:
		return maxMR
	}
	return 4
}

// maxPanels is the most panels of any kernel's tile call: AMX's, whose
// tile configuration and epilogue cost about as much as a few panels'
// tile products, so one call does several.
const maxPanels = 8

// panels is the most 16-column panels one tile call of k computes (the
// row tile's activations shared); kGoVNNI mirrors AMX, so that the
// driver's several-panel path runs on every CPU.
func (k lowpKernel) panels() int {
	if k == kGoVNNI || k == kAMX {
		return maxPanels
	}
	return 1
}

// colsAt returns p moved on by q panels of 16 columns (nil stays nil).
func colsAt[T any](p *T, q int) *T {
	if p == nil {
		return nil
	}
	return (*T)(unsafe.Add(unsafe.Pointer(p), q*lowpNR*int(unsafe.Sizeof(*p))))
}

// name says what kernel k is for precision p.
func (k lowpKernel) name(p Precision) string {
	switch {
	case k == kGo:
		return "go"
	case k == kAVX2 && p == Int8:
		return "avx2 (vpmaddwd, u8 activations widened to int16)"
	case k == kAVX2:
		return "avx2 (bf16 widened to f32, fma)"
	case k == kGoVNNI:
		return "go (vnni layouts)"
	case k == kAVXVNNI:
		return "avx-vnni (vpdpbusd ymm)"
	case k == kAMX && p == Int8:
		return "amx-int8 (tdpbusd tiles)"
	case k == kAMX:
		return "amx-bf16 (tdpbf16ps tiles)"
	case p == Int8:
		return "avx512-vnni (vpdpbusd zmm)"
	}
	return "avx512-bf16 (vdpbf16ps zmm)"
}

// Kernels names the kernels each precision uses on this CPU, chosen once
// from CPUID: "f32: avx2; bf16: …; int8: …".
func Kernels() string {
	return "f32: " + simd.String() + "; bf16: " + pickLowp(BF16).name(BF16) + "; int8: " + pickLowp(Int8).name(Int8)
}

// packInt8Quads is packInt8 for the VNNI dot-product layout: groups of
// four inputs, 64 bytes per panel and quad.
func packInt8Quads(w *qweights, panel0, panels int, ws [][]float32, r1, k int) {
	packInt8Groups(w, panel0, panels, ws, r1, k, 4)
}

// packBF16Pairs packs rows [r0, r0+16·panels) of ws into the dot-product
// bf16 layout: per panel and pair of inputs (kp = ⌈in/2⌉), 32 values:
// column j's inputs 2q, 2q+1 at 2j. Rows ≥ r1 and the odd pad are zero.
func packBF16Pairs(dst []uint16, ws [][]float32, r0, r1, k int) {
	kp := (k + 1) / 2
	rowsOf(ws, k, r0, r0+len(dst)/(2*kp), func(r int, row []float32) {
		p, j := (r-r0)/lowpNR, (r-r0)%lowpNR
		panel := dst[p*kp*32 : (p+1)*kp*32]
		for kk := 0; kk < 2*kp; kk++ {
			v := uint16(0)
			if r < r1 && row != nil && kk < k {
				v = bf16(row[kk])
			}
			panel[(kk/2)*32+2*j+kk%2] = v
		}
	})
}
