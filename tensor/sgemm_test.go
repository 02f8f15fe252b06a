package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// testSizes straddle every tile and vector boundary of the kernels (mr 4,
// 6, 10; nr 16, 32; vector widths 8, 16; k unroll 4).
var testSizes = []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33}

const guard = 64           // values checked on either side of an output
const sentinel = -12345.75 // what the guard values hold

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

// guarded returns a zero slice of n floats inside a buffer whose guard
// values hold the sentinel, and a check that they still do.
func guarded(t *testing.T, n int) ([]float32, func()) {
	buf := make([]float32, n+2*guard)
	for i := range buf {
		buf[i] = sentinel
	}
	s := buf[guard : guard+n : guard+n]
	clear(s)
	return s, func() {
		t.Helper()
		for i, v := range buf {
			if (i < guard || i >= guard+n) && v != sentinel {
				t.Fatalf("value %d outside the output was overwritten: %g", i-guard, v)
			}
		}
	}
}

// refMatMulT is C = A·Bᵀ (+bias) in float64, and Σ|a||b| per element for
// the error bound.
func refMatMulT(a, b, bias []float32, m, n, k int) (c, mag []float64) {
	c = make([]float64, m*n)
	mag = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, g float64
			for p := 0; p < k; p++ {
				x := float64(a[i*k+p]) * float64(b[j*k+p])
				s += x
				g += math.Abs(x)
			}
			if bias != nil {
				s += float64(bias[j])
				g += math.Abs(float64(bias[j]))
			}
			c[i*n+j], mag[i*n+j] = s, g
		}
	}
	return c, mag
}

// gemmTol is the worst-case float32 rounding error of a k-term dot product
// plus bias (Higham's γ_{k+2} = (k+2)·u, u = 2⁻²⁴) applied to Σ|a·b|,
// plus 1e-30 so that exact zeros compare.
func gemmTol(k int, mag float64) float64 {
	return float64(k+2)*0x1p-24*mag + 1e-30
}

func forEachISA(t *testing.T, f func(t *testing.T)) {
	saved := simd
	defer func() { simd = saved }()
	for _, s := range availableISAs() {
		simd = s
		t.Run(s.String(), f)
	}
}

func TestMatMulT(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, m := range testSizes {
			for _, n := range testSizes {
				for _, k := range testSizes {
					a, b := randSlice(r, m*k), randSlice(r, n*k)
					dst, check := guarded(t, m*n)
					matMulNT(tw, dst, a, b, m, n, k)
					check()
					want, mag := refMatMulT(a, b, nil, m, n, k)
					for i := range want {
						if d := math.Abs(float64(dst[i]) - want[i]); d > gemmTol(k, mag[i]) {
							t.Fatalf("m=%d n=%d k=%d: element %d = %g, want %g", m, n, k, i, dst[i], want[i])
						}
					}
				}
			}
		}
	})
}

func TestMatMul(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, m := range testSizes {
			for _, n := range testSizes {
				for _, k := range testSizes {
					a, b := randSlice(r, m*k), randSlice(r, k*n)
					bt := make([]float32, n*k) // bᵀ for the reference
					for p := 0; p < k; p++ {
						for j := 0; j < n; j++ {
							bt[j*k+p] = b[p*n+j]
						}
					}
					dst, check := guarded(t, m*n)
					matMulNN(tw, dst, a, b, m, n, k)
					check()
					want, mag := refMatMulT(a, bt, nil, m, n, k)
					for i := range want {
						if d := math.Abs(float64(dst[i]) - want[i]); d > gemmTol(k, mag[i]) {
							t.Fatalf("m=%d n=%d k=%d: element %d = %g, want %g", m, n, k, i, dst[i], want[i])
						}
					}
				}
			}
		}
	})
}

// TestLinearLarge covers k blocking (k > kcMax), several row and panel
// blocks (the parallel split) and the fused bias and activations.
func TestLinearLarge(t *testing.T) {
	shapes := [][3]int{{50, 768, 96}, {131, 600, 77}, {257, 33, 130}, {3, 1030, 45}}
	acts := []Activation{ActNone, ActQuickGELU, ActGELU}
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, sh := range shapes {
			m, k, n := sh[0], sh[1], sh[2]
			x, w, b := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, n)
			for _, act := range acts {
				l, err := NewLinear(tw, w, b, n, k)
				if err != nil {
					t.Fatal(err)
				}
				dst, check := guarded(t, m*n)
				l.Forward(tw, dst, x, m, act)
				check()
				want, mag := refMatMulT(x, w, b, m, n, k)
				for i, v := range want {
					tol := gemmTol(k, mag[i])
					switch act {
					case ActQuickGELU:
						v = v / (1 + math.Exp(-1.702*v))
						tol = 1.2*tol + 1e-6*math.Abs(v) // slope ≤ 1.1; see TestActivations
					case ActGELU:
						v = 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
						tol = 1.2*tol + 1e-6*math.Abs(v) // slope ≤ 1.13; see TestActivations
					}
					if d := math.Abs(float64(dst[i]) - v); d > tol {
						t.Fatalf("%dx%dx%d act %d: element %d = %g, want %g (tol %g)", m, k, n, act, i, dst[i], v, tol)
					}
				}
			}
		}
	})
}

// TestForwardAdd checks the fused residual: dst0 + x·Wᵀ + b against the
// float64 reference, on shapes with partial panels and several k blocks.
func TestForwardAdd(t *testing.T) {
	shapes := [][3]int{{50, 768, 96}, {131, 1600, 77}, {7, 33, 130}, {10, 3072, 64}}
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, sh := range shapes {
			m, k, n := sh[0], sh[1], sh[2]
			x, w, b := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, n)
			l, err := NewLinear(tw, w, b, n, k)
			if err != nil {
				t.Fatal(err)
			}
			res := randSlice(r, m*n)
			dst, check := guarded(t, m*n)
			copy(dst, res)
			l.ForwardAdd(tw, dst, x, m)
			check()
			want, mag := refMatMulT(x, w, b, m, n, k)
			for i, v := range want {
				v += float64(res[i])
				// The residual adds one rounding of at most half an ulp of
				// the sum to the product's bound.
				tol := gemmTol(k+1, mag[i]+math.Abs(float64(res[i])))
				if d := math.Abs(float64(dst[i]) - v); d > tol {
					t.Fatalf("%dx%dx%d: element %d = %g, want %g (tol %g)", m, k, n, i, dst[i], v, tol)
				}
			}
		}
	})
}

// TestLayerNorm compares with a float64 reference; the float32 result
// rounds once after float64 statistics, then one multiply-add by gamma and
// beta: 3 ulp of the output magnitude covers it.
func TestLayerNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, width := range []int{1, 7, 8, 33, 512, 768} {
		rows := 5
		if width == 33 {
			rows = 301 // several tasks of rows on tw, the last one short
		}
		x, g, b := randSlice(r, rows*width), randSlice(r, width), randSlice(r, width)
		for i := range x {
			x[i] = x[i]*4 + 100 // a large mean: the two-pass variance must not cancel
		}
		dst, check := guarded(t, rows*width)
		LayerNorm(nil, dst, x, g, b, rows, width, 1e-5)
		check()
		for row := 0; row < rows; row++ {
			xr := x[row*width : (row+1)*width]
			var mean, v float64
			for _, e := range xr {
				mean += float64(e)
			}
			mean /= float64(width)
			for _, e := range xr {
				v += (float64(e) - mean) * (float64(e) - mean)
			}
			inv := 1 / math.Sqrt(v/float64(width)+1e-5)
			for i, e := range xr {
				n := (float64(e) - mean) * inv
				want := n*float64(g[i]) + float64(b[i])
				tol := 3 * 0x1p-24 * (math.Abs(n*float64(g[i])) + math.Abs(float64(b[i])) + 1e-30)
				if d := math.Abs(float64(dst[row*width+i]) - want); d > tol {
					t.Fatalf("width %d row %d col %d: %g, want %g (tol %g)", width, row, i, dst[row*width+i], want, tol)
				}
			}
		}
		// In place, and on several goroutines, gives the same values.
		cp := append([]float32(nil), x...)
		LayerNorm(nil, cp, cp, g, b, rows, width, 1e-5)
		par, checkPar := guarded(t, rows*width)
		LayerNorm(tw, par, x, g, b, rows, width, 1e-5)
		checkPar()
		for i := range cp {
			if cp[i] != dst[i] || par[i] != dst[i] {
				t.Fatalf("width %d: element %d in place %g, on %d goroutines %g, want %g", width, i, cp[i], tw.N(), par[i], dst[i])
			}
		}
	}
}

// TestParallel checks that every index runs exactly once, nested calls
// included.
func TestParallel(t *testing.T) {
	var hits [100]atomic.Int32
	tw.Parallel(10, func(i int) {
		tw.Parallel(10, func(j int) { hits[i*10+j].Add(1) })
	})
	for i := range hits {
		if n := hits[i].Load(); n != 1 {
			t.Fatalf("index %d ran %d times", i, n)
		}
	}
}

// TestMatMulTGonum compares with gonum's Sgemm on odd sizes.
func TestMatMulTGonum(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, sh := range [][3]int{{37, 45, 129}, {50, 77, 768}, {13, 301, 19}, {101, 3, 517}} {
			m, n, k := sh[0], sh[1], sh[2]
			a, b := randSlice(r, m*k), randSlice(r, n*k)
			got := make([]float32, m*n)
			matMulNT(tw, got, a, b, m, n, k)
			want := make([]float32, m*n)
			blas32.Implementation().Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, a, k, b, k, 0, want, n)
			_, mag := refMatMulT(a, b, nil, m, n, k)
			for i := range want {
				// Both are float32 sums of the same k terms in different
				// orders: each within γ_k of the exact value.
				if d := math.Abs(float64(got[i] - want[i])); d > 2*gemmTol(k, mag[i]) {
					t.Fatalf("%v: element %d = %g, gonum %g", sh, i, got[i], want[i])
				}
			}
		}
	})
}

func TestForwardAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race (sync.Pool drops items on purpose); checked in the normal run")
	}
	r := rand.New(rand.NewPCG(9, 10))
	m, k, n := 50, 768, 768
	l, _ := NewLinear(tw, randSlice(r, n*k), randSlice(r, n), n, k)
	x, dst := randSlice(r, m*k), make([]float32, m*n)
	l.Forward(tw, dst, x, m, ActGELU)
	if a := testing.AllocsPerRun(20, func() { l.Forward(tw, dst, x, m, ActGELU) }); a != 0 {
		t.Errorf("Forward allocates %v times per call", a)
	}
	b := randSlice(r, n*k)
	if a := testing.AllocsPerRun(20, func() { matMulNT(tw, dst, x, b, m, n, k) }); a != 0 {
		t.Errorf("MatMulT allocates %v times per call", a)
	}
}

func TestNewLinearErrors(t *testing.T) {
	for _, c := range []struct {
		w, b    []float32
		out, in int
	}{{nil, nil, 0, 1}, {make([]float32, 5), nil, 2, 3}, {make([]float32, 6), make([]float32, 3), 2, 3}} {
		if _, err := NewLinear(tw, c.w, c.b, c.out, c.in); err == nil {
			t.Errorf("NewLinear(tw, %d values, %d bias, %d, %d): no error", len(c.w), len(c.b), c.out, c.in)
		}
	}
}

var _ = fmt.Sprint

// TestNewLinearStacked checks that packing parts gives exactly the layout
// of packing their concatenation, including parts that end inside a panel.
func TestNewLinearStacked(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		const in = 37
		outs := []int{5, 40, 19}
		var ws, bs [][]float32
		var w, b []float32
		for _, o := range outs {
			ws, bs = append(ws, randSlice(r, o*in)), append(bs, randSlice(r, o))
			w, b = append(w, ws[len(ws)-1]...), append(b, bs[len(bs)-1]...)
		}
		want, err := NewLinear(tw, w, b, 64, in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := NewLinearStacked(tw, ws, bs, 64, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.packed) != len(want.packed) || len(got.b) != len(want.b) {
			t.Fatalf("sizes %d/%d, want %d/%d", len(got.packed), len(got.b), len(want.packed), len(want.b))
		}
		for i := range want.packed {
			if got.packed[i] != want.packed[i] {
				t.Fatalf("packed[%d] = %g, want %g", i, got.packed[i], want.packed[i])
			}
		}
		for i := range want.b {
			if got.b[i] != want.b[i] {
				t.Fatalf("bias[%d] = %g, want %g", i, got.b[i], want.b[i])
			}
		}
		if _, err := NewLinearStacked(tw, ws, bs[:2], 64, in); err == nil {
			t.Error("mismatched bias parts accepted")
		}
		if _, err := NewLinearStacked(tw, ws, nil, 63, in); err == nil {
			t.Error("wrong out accepted")
		}
	})
}

// TestParallelBudget checks that concurrent callers share one budget of
// N-1 helpers: with C callers, at most C+N-1 tasks ever
// run at once, however many tasks each call has.
func TestParallelBudget(t *testing.T) {
	const callers, tasks = 4, 40
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tw.Parallel(tasks, func(int) {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(200 * time.Microsecond)
				running.Add(-1)
			})
		}()
	}
	wg.Wait()
	if p, limit := peak.Load(), int32(callers+tw.N()-1); p > limit {
		t.Errorf("%d tasks ran at once, want at most %d (callers + helpers)", p, limit)
	}
}
