package tensor

import "math"

// AddTo adds x to dst element-wise: dst[i] += x[i].
func AddTo(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}

// LayerNorm normalises each of rows rows of width values of x over the row,
// as torch.nn.LayerNorm: dst = (x-mean)/sqrt(var+eps)·gamma + beta, with the
// biased variance. Statistics are accumulated in float64. dst may alias x.
func LayerNorm(dst, x, gamma, beta []float32, rows, width int, eps float32) {
	for r := 0; r < rows; r++ {
		xr := x[r*width : (r+1)*width]
		dr := dst[r*width : (r+1)*width]
		var sum float64
		for _, v := range xr {
			sum += float64(v)
		}
		mean := sum / float64(width)
		var ss float64
		for _, v := range xr {
			d := float64(v) - mean
			ss += d * d
		}
		inv := 1 / math.Sqrt(ss/float64(width)+float64(eps))
		for i, v := range xr {
			dr[i] = float32((float64(v)-mean)*inv)*gamma[i] + beta[i]
		}
	}
}

// Softmax replaces x by softmax(x), subtracting the maximum first; the
// exponentials are vectorised (relative error ≤ 1.3 ulp, see
// TestActivations) and summed in float64.
func Softmax(x []float32) { softmaxScaled(simd, x, 1) }

// QuickGELU applies x·σ(1.702·x) in place (CLIP's "quick_gelu"),
// vectorised: |error| ≤ 1.1e-7·max(1,|x|) (see TestActivations).
func QuickGELU(x []float32) { activate(simd, x, ActQuickGELU) }

// GELU applies the exact GELU 0.5·x·(1+erf(x/√2)) in place ("gelu"),
// vectorised: |error| ≤ 1.5e-7·max(1,|x|) (see TestActivations).
func GELU(x []float32) { activate(simd, x, ActGELU) }
