//go:build amd64 && !purego

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAMXPathEmulated runs q8tile and b2tile with the AMX kernel on the
// emulator as Go functions (see emuGoCall): the Go code between the
// driver and the tile instructions (amxQ8, amxB2: the tile configuration,
// the buffer of sums, the epilogue of each panel) with the assembly under
// it, which TestQ8TileExact and TestB2Tile can only run on a CPU with AMX.
// int8 against the portable kernel to the bit; bf16 against a float64
// product within TestB2Tile's bound. Needs a Bochs built with AMX
// (tools/emu/build_bochscpu_amx.sh); CI's has none, so there it is one
// skipped subtest.
func TestAMXPathEmulated(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	var cases []emuCase
	for _, s := range [][3]int{{16, 48, 3}, {5, 35, 2}, {1, 17, 1}, {16, 16, 8}, {9, 3, 5}, {16, 0, 2}} {
		mr, k, np := s[0], s[1], s[2]
		cases = append(cases, emuQ8PathCase(r, mr, k, np), emuB2PathCase(r, mr, k, np))
	}
	passed := checkEmulated(t, cases)
	t.Logf("%d of 2 functions ran on the emulator and matched", len(passed))
}

// emuQ8PathCase is q8tile(kAMX, …) of mr rows, kq quads and np panels
// (further apart than they need be), against q8tile(kGoVNNI, …).
func emuQ8PathCase(r *rand.Rand, mr, kq, np int) emuCase {
	in := newQ8TileInputs(r, mr, kq, np)
	a, lda, b, pstride, ldc, cols := in.a, in.lda, in.b, in.pstride, in.ldc, in.cols
	as, az, lds, ws, wsum, bias := in.as, in.az, in.lds, in.ws, in.wsum, in.bias
	out, c := guardedOut((mr-1)*ldc+cols, float32(sentinel))
	copy(c, randSlice(r, len(c)))
	want := append([]float32(nil), out...)
	acc := kq % 2
	q8tile(kGoVNNI, mr, kq, np, &a[0], lda, &b[0], pstride, &want[guard], ldc, &as[0], &az[0], lds, &ws[0], &wsum[0], &bias[0], acc)
	call := emuGoCall("q8tile", []string{"avx512f", "amx_tile", "amx_int8"},
		[]uintptr{uintptr(kAMX), uintptr(mr), uintptr(kq), uintptr(np), ptr(a), uintptr(lda), ptr(b), uintptr(pstride), ptr(c), uintptr(ldc),
			ptr(as), ptr(az), uintptr(lds), ptr(ws), ptr(wsum), ptr(bias), uintptr(acc)},
		[]emuRegion{region(a, false), region(b, false), region(as, false), region(az, false), region(ws, false),
			region(wsum, false), region(bias, false), region(out, true)})
	return emuCase{call, func(t *testing.T) {
		if msg := sameBits(out, want); msg != "" {
			t.Errorf("mr=%d kq=%d np=%d: %s", mr, kq, np, msg)
		}
	}}
}

// emuB2PathCase is b2tile(kAMX, …) of mr rows, kp pairs and np panels,
// against a float64 product of the bf16 operands.
func emuB2PathCase(r *rand.Rand, mr, kp, np int) emuCase {
	const lda = 2*48 + 2
	ldc, pstride, cols := lowpNR*np+3, 32*(kp+1), lowpNR*np
	a := randBF16(r, mr*lda)
	b := randBF16(r, pstride*np)
	bias := randSlice(r, cols)
	out, c := guardedOut((mr-1)*ldc+cols, float32(sentinel))
	copy(c, randSlice(r, len(c)))
	c0 := append([]float32(nil), c...)
	acc := 1 - kp%2
	call := emuGoCall("b2tile", []string{"avx512f", "amx_tile", "amx_bf16"},
		[]uintptr{uintptr(kAMX), uintptr(mr), uintptr(kp), uintptr(np), ptr(a), uintptr(lda), ptr(b), uintptr(pstride), ptr(c), uintptr(ldc),
			ptr(bias), uintptr(acc)},
		[]emuRegion{region(a, false), region(b, false), region(bias, false), region(out, true)})
	return emuCase{call, func(t *testing.T) {
		if msg := outsideChanged(out, c0, mr, ldc, cols); msg != "" {
			t.Fatalf("mr=%d kp=%d np=%d: %s", mr, kp, np, msg)
		}
		for i := 0; i < mr; i++ {
			for j := 0; j < cols; j++ {
				o := i*ldc + j
				want, mag := float64(bias[j]), math.Abs(float64(bias[j]))
				if acc != 0 {
					want += float64(c0[o])
					mag += math.Abs(float64(c0[o]))
				}
				for p := 0; p < 2*kp; p++ {
					x := float64(bf16ToF32(a[i*lda+p])) * float64(bf16ToF32(b[j/lowpNR*pstride+(p/2)*32+2*(j%lowpNR)+p%2]))
					want += x
					mag += math.Abs(x)
				}
				if d := math.Abs(float64(c[o]) - want); d > gemmTol(2*kp+2, mag) {
					t.Fatalf("mr=%d kp=%d np=%d: c[%d,%d] = %g, want %g", mr, kp, np, i, j, c[o], want)
				}
			}
		}
	}}
}
