package tensor

import "fmt"

// Activation is an element-wise function fused after a Linear layer.
type Activation uint8

const (
	ActNone      Activation = iota // identity
	ActQuickGELU                   // x·σ(1.702x), CLIP's original activation
	ActGELU                        // exact erf GELU
)

// Linear is the affine map y = x·Wᵀ + b of a PyTorch nn.Linear.
// It is immutable after NewLinear and safe for concurrent use.
type Linear struct {
	In, Out int
	s       isa       // kernel set the weights are packed for
	packed  []float32 // W [Out,In] packed into panels of nr output columns
	b       []float32 // [Out] padded to whole panels, or nil
}

// NewLinear packs weights w [out,in] (PyTorch layout) and optional bias b
// [out] into the layout of this CPU's GEMM kernel. Neither slice is
// retained: w may be memory-mapped and released after the call.
func NewLinear(w, b []float32, out, in int) (*Linear, error) {
	if out <= 0 || in <= 0 {
		return nil, fmt.Errorf("tensor: linear shape [%d,%d] must be positive", out, in)
	}
	if len(w) != out*in {
		return nil, fmt.Errorf("tensor: linear weight has %d values, want %d×%d", len(w), out, in)
	}
	if b != nil && len(b) != out {
		return nil, fmt.Errorf("tensor: linear bias has %d values, want %d", len(b), out)
	}
	l := &Linear{In: in, Out: out, s: simd}
	l.packed = make([]float32, packedLen(l.s, out, in))
	packBT(l.s, l.packed, w, in, out, in)
	if b != nil {
		l.b = make([]float32, packedLen(l.s, out, 1))
		copy(l.b, b)
	}
	return l, nil
}

// Forward computes dst[rows,Out] = act(x[rows,In]·Wᵀ + b), with bias and
// activation applied to each register tile as it is finished. It uses up
// to GOMAXPROCS goroutines (see maxWorkers) and allocates nothing in
// steady state. dst must not overlap x.
func (l *Linear) Forward(dst, x []float32, rows int, act Activation) {
	if rows == 0 {
		return
	}
	_ = dst[rows*l.Out-1]
	_ = x[rows*l.In-1]
	gemmArgs{s: l.s, dst: dst, ldc: l.Out, a: x, lda: l.In, b: l.packed,
		m: rows, n: l.Out, k: l.In, bias: l.b, act: act}.run()
}

// ForwardAdd adds the layer's output to dst: dst[rows,Out] += x[rows,In]·Wᵀ
// + b, the residual connection fused into the product (each tile of dst is
// read, accumulated and written once). dst must not overlap x.
func (l *Linear) ForwardAdd(dst, x []float32, rows int) {
	if rows == 0 {
		return
	}
	_ = dst[rows*l.Out-1]
	_ = x[rows*l.In-1]
	gemmArgs{s: l.s, dst: dst, ldc: l.Out, a: x, lda: l.In, b: l.packed,
		m: rows, n: l.Out, k: l.In, bias: l.b, accum: true}.run()
}

// MatMulT computes dst[m,n] = a[m,k]·b[n,k]ᵀ. b is packed per call into a
// pooled buffer; for a fixed b use a Linear.
func MatMulT(dst, a, b []float32, m, n, k int) {
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
	packBT(s, *p, b, k, n, k)
	gemmArgs{s: s, dst: dst, ldc: n, a: a, lda: k, b: *p, m: m, n: n, k: k}.run()
	floatPool.Put(p)
}

// MatMul computes dst[m,n] = a[m,k]·b[k,n].
func MatMul(dst, a, b []float32, m, n, k int) {
	if m == 0 || n == 0 {
		return
	}
	_ = dst[m*n-1]
	if k > 0 {
		_ = a[m*k-1]
		_ = b[k*n-1]
	}
	s := simd
	p := getFloats(packedLen(s, n, k))
	packBN(s, *p, b, n, n, k)
	gemmArgs{s: s, dst: dst, ldc: n, a: a, lda: k, b: *p, m: m, n: n, k: k}.run()
	floatPool.Put(p)
}
