package tensor

import "math"

// LayerNorm normalises each of rows rows of width values of x over the row,
// as torch.nn.LayerNorm: dst = (x-mean)/sqrt(var+eps)·gamma + beta, with the
// biased variance computed around the mean (two passes, no cancellation).
// Statistics are accumulated in float64 over eight independent chains, so
// the row is summed at the CPU's add throughput rather than its latency.
// dst may alias x. Rows are shared out over wk (nil: the caller alone);
// each row's result does not depend on how.
func LayerNorm(wk *Workers, dst, x, gamma, beta []float32, rows, width int, eps float32) {
	if rows == 0 || width == 0 {
		return
	}
	_ = x[rows*width-1]
	_ = dst[rows*width-1]
	gamma, beta = gamma[:width], beta[:width]
	// Tasks of at least 64 rows (~50 µs at width 768), so small calls
	// stay on the caller.
	per := max(64, (rows+4*wk.N()-1)/(4*wk.N()))
	wk.Parallel((rows+per-1)/per, func(t int) {
		for r := t * per; r < min(rows, (t+1)*per); r++ {
			layerNormRow(dst[r*width:(r+1)*width], x[r*width:(r+1)*width], gamma, beta, eps)
		}
	})
}

func layerNormRow(dr, xr, gamma, beta []float32, eps float32) {
	n := len(xr)
	dr, gamma, beta = dr[:n], gamma[:n], beta[:n]
	body := n &^ 7
	var s [8]float64
	for i := 0; i < body; i += 8 {
		v := (*[8]float32)(xr[i : i+8])
		s[0] += float64(v[0])
		s[1] += float64(v[1])
		s[2] += float64(v[2])
		s[3] += float64(v[3])
		s[4] += float64(v[4])
		s[5] += float64(v[5])
		s[6] += float64(v[6])
		s[7] += float64(v[7])
	}
	sum := ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
	for _, v := range xr[body:] {
		sum += float64(v)
	}
	mean := sum / float64(n)
	s = [8]float64{}
	for i := 0; i < body; i += 8 {
		v := (*[8]float32)(xr[i : i+8])
		d0, d1, d2, d3 := float64(v[0])-mean, float64(v[1])-mean, float64(v[2])-mean, float64(v[3])-mean
		d4, d5, d6, d7 := float64(v[4])-mean, float64(v[5])-mean, float64(v[6])-mean, float64(v[7])-mean
		s[0] += d0 * d0
		s[1] += d1 * d1
		s[2] += d2 * d2
		s[3] += d3 * d3
		s[4] += d4 * d4
		s[5] += d5 * d5
		s[6] += d6 * d6
		s[7] += d7 * d7
	}
	ss := ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
	for _, v := range xr[body:] {
		d := float64(v) - mean
		ss += d * d
	}
	inv := 1 / math.Sqrt(ss/float64(n)+float64(eps))
	for i, v := range xr {
		dr[i] = float32((float64(v)-mean)*inv)*gamma[i] + beta[i]
	}
}

// quickGELU applies x·σ(1.702·x) in place (CLIP's "quick_gelu"),
// vectorised: |error| ≤ 1.1e-7·max(1,|x|) (see TestActivations).
func quickGELU(x []float32) { activate(simd, x, ActQuickGELU) }

// gelu applies the exact GELU 0.5·x·(1+erf(x/√2)) in place ("gelu"),
// vectorised: |error| ≤ 1.5e-7·max(1,|x|) (see TestActivations).
func gelu(x []float32) { activate(simd, x, ActGELU) }
