package tensor

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

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
	w       []float32 // [Out, In], row-major as stored by PyTorch
	b       []float32 // [Out], or nil
}

// NewLinear wraps weights w [out,in] and optional bias b [out].
// The slices are retained, not copied.
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
	return &Linear{In: in, Out: out, w: w, b: b}, nil
}

// Forward computes dst[rows,Out] = act(x[rows,In]·Wᵀ + b).
func (l *Linear) Forward(dst, x []float32, rows int, act Activation) {
	if rows == 0 {
		return
	}
	_ = dst[rows*l.Out-1]
	_ = x[rows*l.In-1]
	MatMulT(dst, x, l.w, rows, l.Out, l.In)
	if l.b != nil {
		for r := 0; r < rows; r++ {
			AddTo(dst[r*l.Out:(r+1)*l.Out], l.b)
		}
	}
	switch act {
	case ActQuickGELU:
		QuickGELU(dst[:rows*l.Out])
	case ActGELU:
		GELU(dst[:rows*l.Out])
	}
}

// MatMulT computes dst[m,n] = a[m,k]·b[n,k]ᵀ.
func MatMulT(dst, a, b []float32, m, n, k int) {
	if m == 0 || n == 0 {
		return
	}
	blas32.Implementation().Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, b, k, 0, dst, n)
}

// MatMul computes dst[m,n] = a[m,k]·b[k,n].
func MatMul(dst, a, b []float32, m, n, k int) {
	if m == 0 || n == 0 {
		return
	}
	blas32.Implementation().Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, dst, n)
}
