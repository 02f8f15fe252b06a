//go:build amd64 && !purego

package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestLowpEmulated runs all 26 functions of lowp512_amd64.s on Bochs' CPU
// emulator (see runEmulated) over odd sizes, with guard values around every
// output, against their Go reference loops: the VNNI int8 tiles
// (qgemmVNNI512, qgemmAVXVNNI) and the AVX512_BF16 tiles to the bit
// (goQTile4, goBTile2 do what the instructions do); amxInt8's int32 sums
// exactly; amxBF16's float32 sums within the float32 summation bound of
// TestB2Tile (TDPBF16PS's order of additions is the hardware's). The AMX
// calls need a Bochs built with AMX (tools/emu/build_bochscpu_amx.sh; the
// PyPI wheel CI uses has none): without it they are one skipped subtest.
func TestLowpEmulated(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	var cases []emuCase
	for _, kern := range []struct {
		name string
		mr   int
	}{{"qgemmVNNI512x", 8}, {"qgemmAVXVNNIx", 6}} {
		for mr := 1; mr <= kern.mr; mr++ {
			for _, kq := range []int{1, 3, 16, 35} {
				cases = append(cases, emuQ8Case(r, kern.name, mr, kq))
			}
		}
	}
	for mr := 1; mr <= 8; mr++ {
		for _, kp := range []int{1, 3, 16, 35} {
			cases = append(cases, emuB2Case(r, mr, kp))
		}
	}
	for _, mr := range []int{1, 5, 16} {
		for _, k := range []int{1, 15, 16, 17, 35, 48} {
			np := 1 + k%4 // 1…4 panels: pairs, a single, both
			cases = append(cases, emuAMXCase(r, false, mr, k, np), emuAMXCase(r, true, mr, k, np))
		}
	}
	for mr := 1; mr <= maxMR; mr++ {
		for _, q := range []bool{true, false} {
			cases = append(cases, emuFinishCase(r, q, mr, mr%2 == 0, mr%3%2))
		}
	}
	cases = append(cases, emuFinishCase(r, true, 3, true, 1), emuFinishCase(r, false, 3, true, 1))
	passed := checkEmulated(t, cases)
	t.Logf("%d of 26 functions ran on the emulator and matched their reference", len(passed))
}

// guardedOut is an output of n values with guard values on either side;
// out is the whole buffer, s its middle.
func guardedOut[T any](n int, fill T) (out, s []T) {
	out = make([]T, n+2*guard)
	for i := range out {
		out[i] = fill
	}
	return out, out[guard : guard+n]
}

// outsideChanged checks a guarded output (guardedOut) of rows × cols
// values ldc apart: the guards must hold sentinel, and the values between
// rows (columns cols…ldc-1) their original c0 (nil: one row). It returns
// what changed, or "".
func outsideChanged(out, c0 []float32, rows, ldc, cols int) string {
	for i := range guard {
		if out[i] != sentinel || out[len(out)-1-i] != sentinel {
			return "a guard value was overwritten"
		}
	}
	c := out[guard : len(out)-guard]
	for i := 0; i+1 < rows; i++ {
		for j := cols; j < ldc; j++ {
			if o := i*ldc + j; c[o] != c0[o] {
				return fmt.Sprintf("c[%d,%d], between the rows, changed", i, j)
			}
		}
	}
	return ""
}

// sameBits reports the first value of got that differs from want in its
// bits (guards included), as an error message, or "".
func sameBits[T float32 | int32](got, want []T) string {
	for i := range want {
		g, w := any(got[i]), any(want[i])
		var gb, wb uint32
		switch g := g.(type) {
		case float32:
			gb, wb = math.Float32bits(g), math.Float32bits(w.(float32))
		case int32:
			gb, wb = uint32(g), uint32(w.(int32))
		}
		if gb != wb {
			return fmt.Sprintf("value %d (guard %d on each side) = %v, want %v", i-guard, guard, got[i], want[i])
		}
	}
	return ""
}

// emuQ8Case is one call of a VNNI int8 tile (acc and bias vary with kq).
func emuQ8Case(r *rand.Rand, name string, mr, kq int) emuCase {
	const lda, ldc, lds = 4*35 + 4, 21, 3
	a := make([]uint8, mr*lda)
	for i := range a {
		a[i] = uint8(r.IntN(256))
	}
	b := make([]int8, 64*kq)
	for i := range b {
		b[i] = int8(r.IntN(256) - 128)
	}
	as, az, ws, wsum := randQScales(r, mr*lds, lowpNR)
	bias, bp, acc, out, c, want := tileOutput(r, mr, ldc, kq)
	goQTile4(mr, kq, &a[0], lda, &b[0], &want[guard], ldc, &as[0], &az[0], lds, &ws[0], &wsum[0], bp, acc)
	call := emuCall{
		fn:    fmt.Sprintf("%s%d", name, mr),
		needs: []string{map[bool]string{true: "avx512_vnni", false: "avx_vnni"}[name == "qgemmVNNI512x"]},
		args:  []uintptr{uintptr(kq), ptr(a), lda, ptr(b), ptr(c), ldc, ptr(as), ptr(az), lds, ptr(ws), ptr(wsum), ptr(bias), uintptr(acc)},
		regions: []emuRegion{region(a, false), region(b, false), region(as, false), region(az, false),
			region(ws, false), region(wsum, false), region(bias, false), region(out, true)},
	}
	return emuCase{call, func(t *testing.T) {
		if msg := sameBits(out, want); msg != "" {
			t.Errorf("mr=%d kq=%d acc=%d: %s", mr, kq, acc, msg)
		}
	}}
}

// randQScales makes the scales and zero points of n activation blocks
// and the scales and weight sums of cols columns, as quantisation gives.
func randQScales(r *rand.Rand, n, cols int) (as []float32, az []int32, ws []float32, wsum []int32) {
	as, az = make([]float32, n), make([]int32, n)
	for i := range as {
		as[i], az[i] = float32(r.Float64())*0.01, int32(r.IntN(256))
	}
	ws, wsum = randSlice(r, cols), make([]int32, cols)
	for j := range wsum {
		wsum[j] = int32(r.IntN(20000) - 10000)
	}
	return as, az, ws, wsum
}

// tileOutput makes the bias (none when k is 3; bp points at it), acc (k
// odd) and guarded output of a 16-column tile of mr rows (c its middle,
// random), and want, a copy of out for the reference to write.
func tileOutput(r *rand.Rand, mr, ldc, k int) (bias []float32, bp *float32, acc int, out, c, want []float32) {
	if k != 3 {
		bias = randSlice(r, lowpNR)
		bp = &bias[0]
	}
	out, c = guardedOut((mr-1)*ldc+lowpNR, float32(sentinel))
	copy(c, randSlice(r, len(c)))
	return bias, bp, k % 2, out, c, append([]float32(nil), out...)
}

// emuB2Case is one call of an AVX512_BF16 tile.
func emuB2Case(r *rand.Rand, mr, kp int) emuCase {
	const lda, ldc = 2*35 + 2, 19
	a := randBF16(r, mr*lda)
	b := randBF16(r, 32*kp)
	bias, bp, acc, out, c, want := tileOutput(r, mr, ldc, kp)
	goBTile2(mr, kp, &a[0], lda, &b[0], &want[guard], ldc, bp, acc)
	call := emuCall{
		fn:      fmt.Sprintf("bgemmAVX512BF16x%d", mr),
		needs:   []string{"avx512_bf16"},
		args:    []uintptr{uintptr(kp), ptr(a), lda, ptr(b), ptr(c), ldc, ptr(bias), uintptr(acc)},
		regions: []emuRegion{region(a, false), region(b, false), region(bias, false), region(out, true)},
	}
	return emuCase{call, func(t *testing.T) {
		if msg := sameBits(out, want); msg != "" {
			t.Errorf("mr=%d kp=%d acc=%d: %s", mr, kp, acc, msg)
		}
	}}
}

// emuAMXCase is one call of amxInt8 (k quads) or amxBF16 (k pairs) for mr
// rows and np panels (further apart than they need be): raw sums into np
// 16×16 buffers whose rows ≥ mr must stay untouched.
func emuAMXCase(r *rand.Rand, bf bool, mr, k, np int) emuCase {
	const lda = 4*48 + 12 // bytes per row of A
	pstride := 64*k + 128 // bytes from one panel to the next
	a := make([]byte, mr*lda)
	for i := range a {
		a[i] = byte(r.IntN(256))
	}
	b := make([]byte, pstride*np)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	if bf { // bf16 values in [-1, 1): both bytes of every pair
		for i := 0; i < len(a); i += 2 {
			putBF16(a[i:], float32(r.Float64()*2-1))
		}
		for i := 0; i < len(b); i += 2 {
			putBF16(b[i:], float32(r.Float64()*2-1))
		}
	}
	const tile = maxMR * lowpNR
	out, c := guardedOut(np*tile, int32(0x5a5a5a5a))
	cfg := amxConfig(mr, k%16)
	fn := map[bool]string{false: "amxInt8", true: "amxBF16"}[bf]
	call := emuCall{
		fn:      fn,
		needs:   []string{"amx_tile", map[bool]string{false: "amx_int8", true: "amx_bf16"}[bf]},
		args:    []uintptr{uintptr(ptrOf(&cfg)), ptr(a), lda, ptr(b), uintptr(pstride), uintptr(np), ptr(c), uintptr(k / 16), uintptr(k % 16)},
		regions: []emuRegion{region(cfg[:], false), region(a, false), region(b, false), region(out, true)},
	}
	return emuCase{call, func(t *testing.T) {
		want := append([]int32(nil), out...)
		for q := range np {
			bq := b[q*pstride:]
			for i := range mr {
				for j := range lowpNR {
					o := q*tile + i*lowpNR + j
					if bf {
						w, mag := amxBF16Want(a[i*lda:], bq, k, j)
						if got := math.Float32frombits(uint32(c[o])); math.Abs(float64(got)-w) > gemmTol(2*k, mag) {
							t.Fatalf("mr=%d kp=%d np=%d: panel %d c[%d,%d] = %g, want %g", mr, k, np, q, i, j, got, w)
						}
						want[guard+o] = c[o]
						continue
					}
					s := int32(0)
					for p := range 4 * k {
						s += int32(a[i*lda+p]) * int32(int8(bq[(p/4)*64+4*j+p%4]))
					}
					want[guard+o] = s
				}
			}
		}
		if msg := sameBits(out, want); msg != "" {
			t.Errorf("%s mr=%d k=%d np=%d: %s", fn, mr, k, np, msg)
		}
	}}
}

// emuFinishCase is one call of qFinishAVX512 (q) or finishAVX512 for mr
// rows of one panel, bias or none, acc or not, against qFinish or
// finishTile to the bit.
func emuFinishCase(r *rand.Rand, q bool, mr int, withBias bool, acc int) emuCase {
	const ldc, lds = 19, 3
	isum, fsum := make([]int32, mr*lowpNR), randSlice(r, mr*lowpNR)
	for i := range isum {
		isum[i] = int32(r.Uint32())
	}
	as, az, ws, wsum := randQScales(r, mr*lds, lowpNR)
	var bias []float32
	var bp *float32
	if withBias {
		bias = randSlice(r, lowpNR)
		bp = &bias[0]
	}
	out, c := guardedOut((mr-1)*ldc+lowpNR, float32(sentinel))
	copy(c, randSlice(r, len(c)))
	want := append([]float32(nil), out...)
	rows := func(s []int32) (t [][lowpNR]int32) {
		for i := 0; i < len(s); i += lowpNR {
			t = append(t, [lowpNR]int32(s[i:]))
		}
		return t
	}
	call := emuCall{fn: "finishAVX512", needs: []string{"avx512f"},
		args:    []uintptr{uintptr(mr), ptr(fsum), ptr(c), ldc, ptr(bias), uintptr(acc)},
		regions: []emuRegion{region(fsum, false), region(bias, false), region(out, true)},
	}
	if q {
		qFinish(rows(isum), &want[guard], ldc, &as[0], &az[0], lds, &ws[0], &wsum[0], bp, acc)
		call = emuCall{fn: "qFinishAVX512", needs: []string{"avx512f"},
			args: []uintptr{uintptr(mr), ptr(isum), ptr(c), ldc, ptr(as), ptr(az), lds, ptr(ws), ptr(wsum), ptr(bias), uintptr(acc)},
			regions: []emuRegion{region(isum, false), region(as, false), region(az, false), region(ws, false),
				region(wsum, false), region(bias, false), region(out, true)},
		}
	} else {
		var t [][lowpNR]float32
		for i := 0; i < len(fsum); i += lowpNR {
			t = append(t, [lowpNR]float32(fsum[i:]))
		}
		finishTile(t, &want[guard], ldc, bp, acc)
	}
	return emuCase{call, func(t *testing.T) {
		if msg := sameBits(out, want); msg != "" {
			t.Errorf("%s mr=%d bias=%v acc=%d: %s", call.fn, mr, withBias, acc, msg)
		}
	}}
}

// amxBF16Want is column j of one row of A (k bf16 pairs) times B in
// float64, and Σ|a·b| for the error bound.
func amxBF16Want(a, b []byte, k, j int) (sum, mag float64) {
	for p := range 2 * k {
		x := float64(bf16ToF32(getBF16(a[2*p:]))) * float64(bf16ToF32(getBF16(b[(p/2)*64+4*j+2*(p%2):])))
		sum += x
		mag += math.Abs(x)
	}
	return sum, mag
}

func putBF16(b []byte, v float32) { h := bf16(v); b[0], b[1] = byte(h), byte(h>>8) }

func getBF16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
