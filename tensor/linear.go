package tensor

import "fmt"

// Activation is an element-wise function fused after a Linear layer.
type Activation uint8

const (
	ActNone      Activation = iota // identity
	ActQuickGELU                   // x·σ(1.702x), CLIP's original activation
	ActGELU                        // exact erf GELU
	ActGELUTanh                    // 0.5x(1+tanh(√(2/π)(x+0.044715x³))), SigLIP's gelu_pytorch_tanh
)

// Linear is the affine map y = x·Wᵀ + b of a PyTorch nn.Linear.
// It is immutable after NewLinear and safe for concurrent use.
type Linear struct {
	In, Out int
	s       isa          // kernel set the weights are packed for
	packed  []float32    // W [Out,In] packed into panels of nr output columns
	b       []float32    // [Out] padded to whole panels, or nil
	lp      *lowpWeights // the weights in BF16 or Int8 instead, or nil
}

// LinearOptions select the number format of a Linear's weights; nil or
// the zero value means float32.
type LinearOptions struct {
	Precision Precision
	// QuantBlock (Int8 only) is the number of inputs sharing one
	// activation scale and zero point: 0 means one per row (the default),
	// otherwise an even number (a multiple of 4 for the VNNI kernels).
	QuantBlock int
	// InputRange (Int8 only, optional) estimates the magnitude of each
	// input channel, for example |γ|+|β| of the layer norm in front. With
	// it the product is smoothed as in SmoothQuant (α = ½): input k is
	// divided, and weight column k multiplied, by s_k = √(range_k / max_n
	// |W[n,k]|) before quantisation, which moves part of an outlier
	// channel's range into the weights. The product is still x·Wᵀ.
	InputRange []float32
}

// NewLinear packs weights w [out,in] (PyTorch layout) and optional bias b
// [out] into the layout of this CPU's GEMM kernel, on up to wk.N()
// goroutines. Neither slice is retained: w may be memory-mapped and
// released after the call.
func NewLinear(wk *Workers, w, b []float32, out, in int) (*Linear, error) {
	if b == nil {
		return NewLinearStacked(wk, [][]float32{w}, nil, out, in)
	}
	return NewLinearStacked(wk, [][]float32{w}, [][]float32{b}, out, in)
}

// NewLinearStacked is NewLinear for a weight stacked from parts along the
// output dimension (for example q_proj ‖ k_proj ‖ v_proj, packed straight
// into one fused Linear without an intermediate copy): ws[i] is [out_i,
// in] with Σ out_i = out, and bs is nil or holds the matching biases.
func NewLinearStacked(wk *Workers, ws, bs [][]float32, out, in int) (*Linear, error) {
	return NewLinearOpts(wk, ws, bs, out, in, nil)
}

// NewLinearOpts is NewLinearStacked with the weights converted to the
// number format of opts (nil: float32). The conversion and packing happen
// here, once; ws and bs are not retained.
func NewLinearOpts(wk *Workers, ws, bs [][]float32, out, in int, opts *LinearOptions) (*Linear, error) {
	if out <= 0 || in <= 0 {
		return nil, fmt.Errorf("tensor: linear shape [%d,%d] must be positive", out, in)
	}
	rows := 0
	for _, w := range ws {
		if len(w)%in != 0 {
			return nil, fmt.Errorf("tensor: linear weight part has %d values, not a multiple of %d inputs", len(w), in)
		}
		rows += len(w) / in
	}
	if rows != out {
		return nil, fmt.Errorf("tensor: linear weight has %d values, want %d×%d", rows*in, out, in)
	}
	if bs != nil {
		if len(bs) != len(ws) {
			return nil, fmt.Errorf("tensor: linear has %d bias parts for %d weight parts", len(bs), len(ws))
		}
		for i, b := range bs {
			if len(b) != len(ws[i])/in {
				return nil, fmt.Errorf("tensor: linear bias has %d values, want %d", len(b), len(ws[i])/in)
			}
		}
	}
	if opts != nil && opts.Precision != F32 {
		lp, err := newLowp(wk, opts.Precision, ws, bs, out, in, opts.QuantBlock, opts.InputRange)
		if err != nil {
			return nil, err
		}
		return &Linear{In: in, Out: out, s: simd, lp: lp}, nil
	}
	l := &Linear{In: in, Out: out, s: simd}
	l.packed = make([]float32, packedLen(l.s, out, in))
	// Pack groups of panels in parallel: loading a model is mostly this
	// transposing copy (and the page faults of reading w).
	nr := l.s.shape().nr
	panels := (out + nr - 1) / nr
	const group = 8 // panels per task
	wk.Parallel((panels+group-1)/group, func(t int) {
		p0, p1 := t*group, min(panels, (t+1)*group)
		packRows(l.s, l.packed[p0*nr*in:p1*nr*in], ws, p0*nr, min(out, p1*nr), in)
	})
	if bs != nil {
		l.b = make([]float32, packedLen(l.s, out, 1))
		off := 0
		for _, b := range bs {
			off += copy(l.b[off:], b)
		}
	}
	return l, nil
}

// packRows packs rows [r0,r1) of the stacked weight ws (rows of k values)
// into dst, the panels starting at row r0 (r0 a multiple of nr), as packBT
// does; rows beyond r1 up to the panel's end are zero.
func packRows(s isa, dst []float32, ws [][]float32, r0, r1, k int) {
	nr := s.shape().nr
	part, base := 0, 0 // ws[part] holds rows base…
	for r := r0; r < r0+len(dst)/k; r++ {
		p, j := (r-r0)/nr, (r-r0)%nr
		panel := dst[p*nr*k : (p+1)*nr*k]
		if r >= r1 {
			for kk := 0; kk < k; kk++ {
				panel[kk*nr+j] = 0
			}
			continue
		}
		for r-base >= len(ws[part])/k {
			base += len(ws[part]) / k
			part++
		}
		row := ws[part][(r-base)*k : (r-base+1)*k]
		for kk, v := range row {
			panel[kk*nr+j] = v
		}
	}
}

// Precision is the number format the weights are held in.
func (l *Linear) Precision() Precision {
	if l.lp != nil {
		return l.lp.prec
	}
	return F32
}

// Forward computes dst[rows,Out] = act(x[rows,In]·Wᵀ + b), with bias and
// activation applied to each register tile as it is finished. It computes
// on up to wk.N() goroutines and allocates nothing in steady state. dst
// must not overlap x.
func (l *Linear) Forward(wk *Workers, dst, x []float32, rows int, act Activation) {
	if rows == 0 {
		return
	}
	if l.lp != nil {
		l.lp.forward(wk, dst, x, rows, act, false)
		return
	}
	_ = dst[rows*l.Out-1]
	_ = x[rows*l.In-1]
	gemmArgs{s: l.s, dst: dst, ldc: l.Out, a: x, lda: l.In, b: l.packed,
		m: rows, n: l.Out, k: l.In, bias: l.b, act: act, wk: wk}.run()
}

// ForwardAdd adds the layer's output to dst: dst[rows,Out] += x[rows,In]·Wᵀ
// + b, the residual connection fused into the product (each tile of dst is
// read, accumulated and written once). dst must not overlap x.
func (l *Linear) ForwardAdd(wk *Workers, dst, x []float32, rows int) {
	if rows == 0 {
		return
	}
	if l.lp != nil {
		l.lp.forward(wk, dst, x, rows, ActNone, true)
		return
	}
	_ = dst[rows*l.Out-1]
	_ = x[rows*l.In-1]
	gemmArgs{s: l.s, dst: dst, ldc: l.Out, a: x, lda: l.In, b: l.packed,
		m: rows, n: l.Out, k: l.In, bias: l.b, accum: true, wk: wk}.run()
}

// matMulNT computes dst[m,n] = a[m,k]·b[n,k]ᵀ. b is packed per call into a
// pooled buffer; for a fixed b use a Linear.
func matMulNT(wk *Workers, dst, a, b []float32, m, n, k int) {
	matMul(wk, dst, a, b, m, n, k, k, packBT)
}

// matMulNN computes dst[m,n] = a[m,k]·b[k,n].
func matMulNN(wk *Workers, dst, a, b []float32, m, n, k int) {
	matMul(wk, dst, a, b, m, n, k, n, packBN)
}

// matMul packs b (n·k values with row stride ldb: [n,k] for packBT, [k,n]
// for packBN) into a pooled panel buffer and runs the GEMM.
func matMul(wk *Workers, dst, a, b []float32, m, n, k, ldb int, pack func(s isa, dst, b []float32, ldb, n, k int)) {
	if m == 0 || n == 0 {
		return
	}
	_ = dst[m*n-1]
	if k > 0 {
		_ = a[m*k-1]
		_ = b[n*k-1]
	}
	s := simd
	p := getFloats(packedLen(s, n, k))
	pack(s, *p, b, ldb, n, k)
	gemmArgs{s: s, dst: dst, ldc: n, a: a, lda: k, b: *p, m: m, n: n, k: k, wk: wk}.run()
	floatPool.Put(p)
}
