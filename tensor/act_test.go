package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// actInputs is a dense grid over [-30, 30] plus random values and the
// special points around zero.
func actInputs() []float32 {
	var x []float32
	for v := -30.0; v <= 30; v += 1.0 / 512 {
		x = append(x, float32(v))
	}
	r := rand.New(rand.NewPCG(11, 12))
	for range 4096 {
		x = append(x, float32(r.NormFloat64()*4))
	}
	return append(x, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-7, -1e-7, 80, -80)
}

// actChecks are the references and error bounds of the exp, QuickGELU and
// GELU kernels (see TestActivations).
var actChecks = []struct {
	name  string
	ref   func(x float64) float64
	bound func(x, want float64) float64
}{
	{"exp", func(v float64) float64 {
		return math.Exp(max(min(v, 88), -86.5)) // the kernel's clamp
	}, func(_, want float64) float64 { return 1.5e-7*want + 1e-37 }},
	{"QuickGELU", func(v float64) float64 {
		return v / (1 + math.Exp(-1.702*v))
	}, func(v, _ float64) float64 { return 2.5e-7 * max(1, math.Abs(v)) }},
	{"GELU", func(v float64) float64 {
		return 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
	}, func(v, _ float64) float64 { return 3e-7 * max(1, math.Abs(v)) }},
}

// Measured maximum errors against float64 math on actInputs (AVX-512 and
// AVX2 kernels, identical algorithms), with the bounds the test enforces:
//
//	exp       relative error ≤ 7.6e-8 (1.3 ulp)        bound 1.5e-7
//	QuickGELU |error| ≤ 1.1e-7·max(1,|x|)              bound 2.5e-7·max(1,|x|)
//	GELU      |error| ≤ 1.5e-7·max(1,|x|)              bound 3e-7·max(1,|x|)
//	GELUTanh  |error| ≤ 1.2e-7·max(1,|x|)              bound 3e-7·max(1,|x|)
//
// (erf by Abramowitz–Stegun 7.1.26, |error| ≤ 1.5e-7, as PyTorch's
// vectorised erf.) The bounds leave about 2× headroom over the measured
// values; t.Log states the worst error as a fraction of the bound.
func TestActivations(t *testing.T) {
	x := actInputs()
	forEachISA(t, func(t *testing.T) {
		s := simd
		check := func(name string, f func([]float32), ref func(float64) float64, bound func(x, want float64) float64) {
			got, done := guarded(t, len(x)-3) // odd length: exercises the tail
			copy(got, x)
			f(got)
			done()
			var worst float64
			for i, g := range got {
				want := ref(float64(x[i]))
				d := math.Abs(float64(g) - want)
				if d > bound(float64(x[i]), want) {
					t.Fatalf("%s(%g) = %g, want %g", name, x[i], g, want)
				}
				worst = max(worst, d/bound(float64(x[i]), want))
			}
			t.Logf("%s %v: worst error %.2f of the bound", name, s, worst)
		}
		check("exp", func(v []float32) { expScaled(s, v, 1, 0) }, actChecks[0].ref, actChecks[0].bound)
		check("QuickGELU", func(v []float32) { activate(s, v, ActQuickGELU) }, actChecks[1].ref, actChecks[1].bound)
		check("GELU", func(v []float32) { activate(s, v, ActGELU) }, actChecks[2].ref, actChecks[2].bound)
		// tanh GELU through the exp kernel: the float32 inner polynomial
		// and the scaled exp each round once, bound as GELU's.
		check("GELUTanh", func(v []float32) { activate(s, v, ActGELUTanh) }, func(v float64) float64 {
			return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
		}, actChecks[2].bound)
	})
}
