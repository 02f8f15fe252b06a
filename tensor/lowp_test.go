package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// forEachLowp runs f for each kernel of precision p this CPU can run,
// the dot-product layouts' or the AVX2 layouts' as dot says.
func forEachLowp(t *testing.T, p Precision, dot bool, f func(t *testing.T, k lowpKernel)) {
	for _, k := range availableLowp(p) {
		if k.dot() == dot {
			t.Run(k.name(p), func(t *testing.T) { f(t, k) })
		}
	}
}

func TestBF16Rounding(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81}, // above the tie
		{0x3f807fff, 0x3f80}, // below the tie
		{0xbf808001, 0xbf81}, // negative
		{0x7f7fffff, 0x7f80}, // max float rounds to +Inf, as RNE must
		{0x7f800000, 0x7f80}, // +Inf
		{0x00000001, 0x0000}, // smallest subnormal rounds to 0
	} {
		if got := bf16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("bf16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if h := bf16(float32(math.NaN())); bf16ToF32(h) == bf16ToF32(h) {
		t.Errorf("bf16(NaN) = %#04x, not a NaN", h)
	}
}

// tileSizes straddle the tiles (mr ≤ 6), the unroll by 4 and odd k.
var tileKs = []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33}

func TestBTileVsNaive(t *testing.T) {
	forEachLowp(t, BF16, false, func(t *testing.T, s lowpKernel) {
		r := rand.New(rand.NewPCG(5, 6))
		for mr := 1; mr <= s.mr(); mr++ {
			for _, k := range tileKs {
				for _, mode := range []int{0, 1, 2} { // plain, acc, acc+bias
					const lda, ldc = 40, 19
					a := randSlice(r, mr*lda)
					w := randSlice(r, lowpNR*max(k, 1))
					b := make([]uint16, lowpNR*max(k, 1))
					if k > 0 {
						packBF16(b, [][]float32{w[:lowpNR*k]}, 0, lowpNR, k)
					}
					bias := randSlice(r, lowpNR)
					cbuf, check := guarded(t, (mr-1)*ldc+lowpNR)
					c0 := randSlice(r, len(cbuf))
					copy(cbuf, c0)
					var bp *float32
					if mode == 2 {
						bp = &bias[0]
					}
					btile(s, mr, k, &a[0], lda, &b[0], &cbuf[0], ldc, bp, min(mode, 1))
					check()
					for i := 0; i < mr; i++ {
						for j := 0; j < lowpNR; j++ {
							var want, mag float64
							for p := 0; p < k; p++ {
								x := float64(a[i*lda+p]) * float64(bf16ToF32(bf16(w[j*k+p])))
								want += x
								mag += math.Abs(x)
							}
							if mode > 0 {
								want += float64(c0[i*ldc+j])
								mag += math.Abs(float64(c0[i*ldc+j]))
							}
							if mode == 2 {
								want += float64(bias[j])
								mag += math.Abs(float64(bias[j]))
							}
							if d := math.Abs(float64(cbuf[i*ldc+j]) - want); d > gemmTol(k, mag) {
								t.Fatalf("mr=%d k=%d mode=%d: c[%d,%d] = %g, want %g", mr, k, mode, i, j, cbuf[i*ldc+j], want)
							}
						}
						for j := lowpNR; i < mr-1 && j < ldc; j++ { // between the rows
							if cbuf[i*ldc+j] != c0[i*ldc+j] {
								t.Fatalf("mr=%d k=%d: c[%d,%d] outside the tile was written", mr, k, i, j)
							}
						}
					}
				}
			}
		}
	})
}

// TestQTileExact checks the int8 tile against the reference formula with
// the same float32 operations: the results must be equal to the bit.
func TestQTileExact(t *testing.T) {
	forEachLowp(t, Int8, false, func(t *testing.T, s lowpKernel) {
		r := rand.New(rand.NewPCG(7, 8))
		for mr := 1; mr <= s.mr(); mr++ {
			for _, k := range tileKs {
				for _, mode := range []int{0, 1, 2} {
					kp := (k + 1) / 2
					const lda, ldc, lds = 2*17 + 2, 21, 3
					a := make([]int16, mr*lda)
					for i := range a {
						a[i] = int16(r.IntN(256)) // u8 range, extremes included below
					}
					a[0] = 255
					wq := make([]int8, lowpNR*2*max(kp, 1))
					for i := range wq {
						wq[i] = int8(r.IntN(255) - 127)
					}
					wq[0] = -127
					as, az := make([]float32, mr*lds), make([]int32, mr*lds)
					for i := range as {
						as[i] = float32(r.Float64()) * 0.01
						az[i] = int32(r.IntN(256))
					}
					ws, wsum := randSlice(r, lowpNR), make([]int32, lowpNR)
					for j := range wsum {
						wsum[j] = int32(r.IntN(20000) - 10000)
					}
					bias := randSlice(r, lowpNR)
					var bp *float32
					if mode == 2 {
						bp = &bias[0]
					}
					cbuf, check := guarded(t, (mr-1)*ldc+lowpNR)
					c0 := randSlice(r, len(cbuf))
					copy(cbuf, c0)
					qtile(s, mr, kp, &a[0], lda, &wq[0], &cbuf[0], ldc, &as[0], &az[0], lds, &ws[0], &wsum[0], bp, min(mode, 1))
					check()
					for i := 0; i < mr; i++ {
						for j := 0; j < lowpNR; j++ {
							sum := int32(0)
							for p := 0; p < 2*kp; p++ {
								sum += int32(a[i*lda+p]) * int32(wq[(p/2)*32+2*j+p%2])
							}
							sum -= az[i*lds] * wsum[j]
							v := float32(float32(float32(sum)*ws[j]) * as[i*lds])
							if mode > 0 {
								v = c0[i*ldc+j] + v
							}
							if mode == 2 {
								v += bias[j]
							}
							if got := cbuf[i*ldc+j]; math.Float32bits(got) != math.Float32bits(v) {
								t.Fatalf("mr=%d k=%d mode=%d: c[%d,%d] = %g, want %g", mr, k, mode, i, j, got, v)
							}
						}
					}
				}
			}
		}
	})
}

func TestQuantizeActs(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, k := range []int{1, 2, 7, 8, 9, 33, 100} {
		for _, block := range []int{k, 4} {
			rows := 3
			x := randSlice(r, rows*k)
			x[1%len(x)] = 0
			for i := range x[:k] { // a row of positives only: range still includes 0
				x[i] = abs32(x[i]) + 0.5
			}
			nb := (k + block - 1) / block
			q := make([]int16, rows*(k+1)/2*2)
			sc, zp := make([]float32, rows*nb), make([]int32, rows*nb)
			quantizeActs(q, sc, zp, x, 0, rows, k, block, nil, (k+1)/2*2)
			kp2 := (k + 1) / 2 * 2
			for i := 0; i < rows; i++ {
				for p := 0; p < k; p++ {
					b := p / block
					s, z, v := sc[i*nb+b], zp[i*nb+b], q[i*kp2+p]
					if v < 0 || v > 255 {
						t.Fatalf("k=%d block=%d: q = %d outside u8", k, block, v)
					}
					if d := math.Abs(float64(s)*float64(int32(v)-z) - float64(x[i*k+p])); d > 0.5001*float64(s) {
						t.Fatalf("k=%d block=%d: x[%d,%d] = %g dequantises with error %g > scale/2 = %g", k, block, i, p, x[i*k+p], d, s/2)
					}
				}
				if k%2 == 1 && q[i*kp2+k] != 0 {
					t.Fatalf("k=%d: padding value %d, want 0", k, q[i*kp2+k])
				}
			}
		}
	}
}

// TestLowpForward checks whole products of every shape class against a
// float64 product of what the kernels are meant to compute: the bf16
// weights, or the int8 weights times the dequantised activations.
func TestLowpForward(t *testing.T) {
	saved := lowpOverride
	defer func() { lowpOverride = saved }()
	for _, prec := range []Precision{BF16, Int8} {
		for _, dot := range []bool{false, true} {
			forEachLowp(t, prec, dot, func(t *testing.T, s lowpKernel) {
				lowpOverride = s
				testLowpForward(t, prec)
			})
		}
	}
}

func testLowpForward(t *testing.T, prec Precision) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, m := range []int{0, 1, 7, 13} {
		// 613: 39 panels, the last partial: tasks of several panels per
		// tile call (kGoVNNI, AMX), the partial one split off.
		for _, n := range []int{1, 15, 16, 17, 33, 613} {
			for _, k := range []int{1, 2, 9, 31, 64} {
				for _, block := range []int{0, 8} { // 8: whole quads
					name := fmt.Sprintf("%v m=%d n=%d k=%d block=%d", prec, m, n, k, block)
					checkLowpForward(t, r, name, prec, m, n, k, block, nil)
					if prec == Int8 {
						rng := randSlice(r, k)
						rng[0] = 0 // no range: factor 1
						checkLowpForward(t, r, name+" smoothed", prec, m, n, k, block, rng)
					}
				}
			}
		}
	}
}

func checkLowpForward(t *testing.T, r *rand.Rand, name string, prec Precision, m, n, k, block int, inputRange []float32) {
	t.Helper()
	w1, w2 := randSlice(r, (n/2)*k), randSlice(r, (n-n/2)*k) // two stacked parts
	b1, b2 := randSlice(r, n/2), randSlice(r, n-n/2)
	lw, err := newLowp(NewWorkers(2), prec, [][]float32{w1, w2}, [][]float32{b1, b2}, n, k, block, inputRange)
	if err != nil {
		t.Fatal(err)
	}
	w := append(append([]float32{}, w1...), w2...)
	bias := append(append([]float32{}, b1...), b2...)
	x := randSlice(r, m*k)
	for _, accum := range []bool{false, true} {
		dst, check := guarded(t, m*n)
		d0 := randSlice(r, m*n)
		copy(dst, d0)
		lw.forward(NewWorkers(2), dst, x, m, ActNone, accum)
		check()
		// What the product should be, in float64.
		xq := x
		var qa qacts
		if prec == Int8 {
			blk := lw.q.block
			nb := (k + blk - 1) / blk
			qa = qacts{a: make([]int16, m*(k+1)/2*2), sc: make([]float32, m*nb), zp: make([]int32, m*nb)}
			quantizeActs(qa.a, qa.sc, qa.zp, x, 0, m, k, blk, lw.q.unsmooth, (k+1)/2*2)
			xq = make([]float32, m*k)
			for i := 0; i < m; i++ {
				for p := 0; p < k; p++ {
					b := i*nb + p/blk
					xq[i*k+p] = qa.sc[b] * float32(int32(qa.a[i*((k+1)/2*2)+p])-qa.zp[b])
				}
			}
		} else if lw.k.dot() { // the dot-product kernels round the activations too
			xq = make([]float32, m*k)
			for i, v := range x {
				xq[i] = bf16ToF32(bf16(v))
			}
		}
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var want, mag float64
				for p := 0; p < k; p++ {
					var wv float64
					if prec == BF16 {
						wv = float64(bf16ToF32(bf16(w[j*k+p])))
					} else {
						// With smoothing xq ≈ x/s and this ≈ s·W.
						wv = float64(lw.q.scale[j]) * float64(qValue(lw, j, p))
					}
					want += float64(xq[i*k+p]) * wv
					mag += math.Abs(float64(xq[i*k+p]) * wv)
				}
				want += float64(bias[j])
				mag += math.Abs(float64(bias[j]))
				if accum {
					want += float64(d0[i*n+j])
					mag += math.Abs(float64(d0[i*n+j]))
				}
				tol := gemmTol(k, mag)
				if prec == Int8 {
					tol = 4*0x1p-24*mag + 1e-30 // exact sums; four roundings in the epilogue
				}
				if d := math.Abs(float64(dst[i*n+j]) - want); d > tol {
					t.Fatalf("%s accum=%v: dst[%d,%d] = %g, want %g (tolerance %g)", name, accum, i, j, dst[i*n+j], want, tol)
				}
				// And close to the float32 product, within the error bound of
				// the quantisation steps.
				var f, bound float64
				for p := 0; p < k; p++ {
					f += float64(x[i*k+p]) * float64(w[j*k+p])
					if prec == BF16 { // bf16 rounding: unit roundoff 2⁻⁸ (8 significant bits), of both operands in the dot layout
						bound += math.Abs(float64(x[i*k+p])*float64(w[j*k+p])) * 0x1p-8 * 2.01
					}
				}
				if prec == Int8 {
					bound = int8Bound(lw, &qa, x, w, i, j)
				}
				f += float64(bias[j])
				if accum {
					f += float64(d0[i*n+j])
				}
				if d := math.Abs(float64(dst[i*n+j]) - f); d > bound+tol {
					t.Fatalf("%s: dst[%d,%d] = %g, float32 product %g: error %g above the quantisation bound %g", name, i, j, dst[i*n+j], f, d, bound)
				}
			}
		}
	}
}

// int8Bound is Σ_k |x'_k|·Δw/2 + |w'_k|·Δx/2 + Δw·Δx/4 for output (i, j):
// x' and w' the (smoothed) inputs and weights, Δ their quantisation steps.
func int8Bound(lw *lowpWeights, qa *qacts, x, w []float32, i, j int) float64 {
	k, blk := lw.in, lw.q.block
	nb := (k + blk - 1) / blk
	dw := float64(lw.q.scale[j])
	var b float64
	for p := 0; p < k; p++ {
		xs, ws := float64(x[i*k+p]), float64(w[j*k+p])
		if lw.q.smooth != nil {
			xs *= float64(lw.q.unsmooth[p])
			ws *= float64(lw.q.smooth[p])
		}
		dx := float64(qa.sc[i*nb+p/blk])
		b += math.Abs(xs)*dw/2 + math.Abs(ws)*dx/2 + dw*dx/4
	}
	return b*1.0001 + 1e-6
}

// qValue is the int8 weight of output column j, input p, read from the
// packed panels.
func qValue(w *lowpWeights, j, p int) int8 {
	st := w.stride()
	if w.k.dot() {
		return w.q.q[(j/lowpNR)*lowpNR*st+(p/4)*64+4*(j%lowpNR)+p%4]
	}
	return w.q.q[(j/lowpNR)*lowpNR*st+(p/2)*32+2*(j%lowpNR)+p%2]
}

// TestLowpTileLimits: every kernel's tile fits the fixed buffers sized for
// the largest (maxMR rows: qFinish's and the Go tiles' sums, which once
// held 8 and would have panicked on the first AMX machine; maxPanels:
// amxQ8's sums). TestQ8TileExact runs qFinish on maxMR rows through
// kGoVNNI.
func TestLowpTileLimits(t *testing.T) {
	for k := kGo; k <= kAMX; k++ {
		if k.mr() > maxMR || k.panels() > maxPanels {
			t.Errorf("%s: tiles of %d rows × %d panels, more than %d × %d", k.name(Int8), k.mr(), k.panels(), maxMR, maxPanels)
		}
	}
	if kGoVNNI.mr() != maxMR || kGoVNNI.panels() != maxPanels {
		t.Errorf("kGoVNNI's tiles (%d × %d) no longer mirror the largest: the driver's path for them goes untested", kGoVNNI.mr(), kGoVNNI.panels())
	}
}

// TestQuantizeRow checks the weight quantisation against its definition
// (q = clamp(round-half-even(v·(127/amax)), ±127) with the product in
// float32), on random rows, rows of exact ties, and NaN, Inf and zero rows.
func TestQuantizeRow(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	rows := [][]float32{{0, 0, 0}, {1, float32(math.NaN()), 2}, {float32(math.Inf(-1)), 1}}
	ties := []float32{127}
	for v := -127.5; v <= 127.5; v += 0.5 {
		ties = append(ties, float32(v))
	}
	rows = append(rows, ties)
	for range 200 {
		row := randSlice(r, 1+r.IntN(300))
		for i := range row {
			row[i] *= float32(math.Exp2(float64(r.IntN(40) - 20)))
		}
		rows = append(rows, row)
	}
	for n, row := range rows {
		q := make([]int8, len(row))
		s := quantizeRow(q, row)
		amax := float32(0)
		for _, v := range row {
			amax = max(amax, abs32(v))
		}
		if amax == 0 || amax != amax || amax > math.MaxFloat32 {
			if !(s == 0 && amax == 0 || s != s) || slices.ContainsFunc(q, func(v int8) bool { return v != 0 }) {
				t.Fatalf("row %d (max %g): scale %g, values %v; want 0 (NaN for NaN or Inf) and zeros", n, amax, s, q)
			}
			continue
		}
		inv := 127 / amax
		for i, v := range row {
			want := int8(max(-127, min(127, math.RoundToEven(float64(v*inv)))))
			if q[i] != want {
				t.Fatalf("row %d: q[%d] = %d for %g (×%g), want %d", n, i, q[i], v, inv, want)
			}
		}
		if s != amax/127 {
			t.Fatalf("row %d: scale %g, want %g", n, s, amax/127)
		}
	}
}

// TestSmoothingColumnMax checks the smoothing factors against a float64
// column maximum, with a NaN weight (its column unsmoothed) and a part of
// several rows.
func TestSmoothingColumnMax(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	const k = 7
	ws := [][]float32{randSlice(r, 3*k), randSlice(r, 5*k)}
	ws[1][2*k+4] = float32(math.NaN())
	rng := randSlice(r, k)
	s, inv := smoothing(ws, rng, k)
	wmax := make([]float64, k)
	for _, w := range ws {
		for i, v := range w {
			wmax[i%k] = math.Max(wmax[i%k], math.Abs(float64(v)))
		}
	}
	f, logSum, n := make([]float64, k), 0.0, 0
	for i := range f {
		if x := math.Abs(float64(rng[i])); x > 0 && wmax[i] > 0 {
			f[i] = math.Sqrt(x / wmax[i])
			logSum += math.Log(f[i])
			n++
		}
	}
	for i := range f {
		want := 1.0
		if f[i] > 0 {
			want = math.Max(0x1p-10, math.Min(0x1p10, f[i]/math.Exp(logSum/float64(n))))
		}
		if s[i] != float32(want) || inv[i] != float32(1/want) {
			t.Errorf("input %d: factor %g (inverse %g), want %g", i, s[i], inv[i], want)
		}
	}
	if s[4] != 1 {
		t.Errorf("the NaN column is smoothed by %g, want 1", s[4])
	}
}
