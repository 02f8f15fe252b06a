package bulk

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// nearestHalf is the reference: the binary16 value nearest to f by exact
// float64 comparison of its two finite neighbours, ties to the even bit pattern;
// beyond the largest half (65504) plus half an ulp (16), ±Inf.
func nearestHalf(f float32) uint16 {
	if math.IsNaN(float64(f)) {
		return 0x7e00
	}
	sign := uint16(0)
	x := float64(f)
	if math.Signbit(x) {
		sign, x = 0x8000, -x
	}
	if x >= 65520 {
		return sign | 0x7c00
	}
	// Finite non-negative halves increase with their bit pattern: the
	// nearest is h or h+1 for the last h not above x.
	h := uint16(sort.Search(0x7c00, func(i int) bool { return float64(float16Value(uint16(i))) > x }) - 1)
	if h == 0x7bff {
		return sign | h
	}
	lo, hi := math.Abs(float64(float16Value(h))-x), math.Abs(float64(float16Value(h+1))-x)
	if hi < lo || (hi == lo && h&1 == 1) {
		h++
	}
	return sign | h
}

func TestFloat16Bits(t *testing.T) {
	vals := []float32{0, 1, -1, 0.5, 65504, 65519.99, 65520, 1e9, -1e9, 6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, 1e-10,
		float32(math.Inf(1)), float32(math.Inf(-1)), 1 + 1.0/2048, 1 + 3.0/2048, 0.1, -0.333333, 1e-45}
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		// Embedding-like values (|x| < 1) and random bit patterns around half's range.
		vals = append(vals, float32(r.NormFloat64()*0.1), math.Float32frombits(r.Uint32()&0xbfffffff|0x30000000))
	}
	for _, v := range vals {
		if got, want := float16Bits(v), nearestHalf(v); got != want {
			t.Errorf("float16Bits(%g) = %#04x, want %#04x", v, got, want)
		}
	}
	if h := float16Bits(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN -> %#04x", h)
	}
}
