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

// Softmax replaces x by softmax(x), subtracting the maximum first.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v - m))
		x[i] = float32(e)
		sum += e
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// QuickGELU applies x·σ(1.702·x) in place (CLIP's "quick_gelu").
func QuickGELU(x []float32) {
	for i, v := range x {
		x[i] = v / (1 + float32(math.Exp(-1.702*float64(v))))
	}
}

// GELU applies the exact GELU 0.5·x·(1+erf(x/√2)) in place ("gelu").
func GELU(x []float32) {
	for i, v := range x {
		x[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
	}
}
