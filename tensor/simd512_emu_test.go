//go:build amd64 && !purego

package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAVX512Emulated runs the float32 AVX-512 kernels (sgemmAVX512x1…10,
// expAVX512, quickGELUAVX512, geluAVX512) on Bochs' CPU emulator (see
// runEmulated), so they are checked on CPUs without AVX-512 too: the tiles
// against a float64 product within gemmTol, the activations within
// TestActivations' bounds, guard values around every output.
func TestAVX512Emulated(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	var cases []emuCase
	for mr := 1; mr <= 10; mr++ {
		for _, k := range []int{1, 7, 33} {
			cases = append(cases, emuSgemmCase(r, mr, k))
		}
	}
	x := actInputs()
	x = x[:len(x)/16*16]
	for i, fn := range []string{"expAVX512", "quickGELUAVX512", "geluAVX512"} {
		cases = append(cases, emuActCase(x, i, fn))
	}
	if passed := checkEmulated(t, cases); len(passed) != 13 {
		t.Errorf("%d of the 13 AVX-512 functions ran and passed: %v", len(passed), passed)
	}
}

// emuActCase is one call of the AVX-512 activation kernel fn on x, checked
// as actChecks[i] (TestActivations' reference and bound).
func emuActCase(x []float32, i int, fn string) emuCase {
	out, got := guardedOut(len(x), float32(sentinel))
	copy(got, x)
	args := []uintptr{ptr(got), uintptr(len(got))}
	if i == 0 {
		args = append(args, uintptr(math.Float32bits(1))) // scale 1, shift 0
	}
	ac := actChecks[i]
	call := emuCall{fn: fn, data: []string{"actconst"}, needs: []string{"avx512f"}, args: args, regions: []emuRegion{region(out, true)}}
	return emuCase{call, func(t *testing.T) {
		if msg := outsideChanged(out, nil, 1, len(got), len(got)); msg != "" {
			t.Fatalf("%s: %s", fn, msg)
		}
		for j, g := range got {
			want := ac.ref(float64(x[j]))
			if d := math.Abs(float64(g) - want); !(d <= ac.bound(float64(x[j]), want)) {
				t.Fatalf("%s(%g) = %g, want %g", ac.name, x[j], g, want)
			}
		}
	}}
}

// emuSgemmCase is one call of an AVX-512 float32 tile (mr rows, k inputs,
// one 32-column panel; acc and bias vary with k).
func emuSgemmCase(r *rand.Rand, mr, k int) emuCase {
	const lda, ldc, nr = 37, 35, 32
	a, b := randSlice(r, mr*lda), randSlice(r, k*nr)
	var bias []float32
	if k != 7 {
		bias = randSlice(r, nr)
	}
	acc := k % 2
	out, c := guardedOut((mr-1)*ldc+nr, float32(sentinel))
	c0 := randSlice(r, len(c))
	copy(c, c0)
	call := emuCall{
		fn:      fmt.Sprintf("sgemmAVX512x%d", mr),
		needs:   []string{"avx512f"},
		args:    []uintptr{uintptr(k), ptr(a), lda, ptr(b), ptr(c), ldc, ptr(bias), uintptr(acc)},
		regions: []emuRegion{region(a, false), region(b, false), region(bias, false), region(out, true)},
	}
	return emuCase{call, func(t *testing.T) {
		if msg := outsideChanged(out, c0, mr, ldc, nr); msg != "" {
			t.Fatalf("mr=%d k=%d: %s", mr, k, msg)
		}
		for i := range mr {
			for j := range nr {
				var want, mag float64
				if acc != 0 {
					want, mag = float64(c0[i*ldc+j]), math.Abs(float64(c0[i*ldc+j]))
				}
				if bias != nil {
					want += float64(bias[j])
					mag += math.Abs(float64(bias[j]))
				}
				for p := range k {
					x := float64(a[i*lda+p]) * float64(b[p*nr+j])
					want += x
					mag += math.Abs(x)
				}
				if got := c[i*ldc+j]; math.Abs(float64(got)-want) > gemmTol(k+2, mag) {
					t.Fatalf("mr=%d k=%d acc=%d: c[%d,%d] = %g, want %g", mr, k, acc, i, j, got, want)
				}
			}
		}
	}}
}
