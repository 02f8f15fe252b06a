package half

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// Every binary16 value survives float16 → float32 → float16 (NaNs stay
// NaN): the float32 conversion is exact and the rounding is the identity
// on representable values.
func TestF16RoundTripAll(t *testing.T) {
	for h := range 1 << 16 {
		f := ToFloat32(uint16(h))
		back := FromFloat32(f)
		if math.IsNaN(float64(f)) {
			if back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x", h, back)
			}
			continue
		}
		if back != uint16(h) {
			t.Fatalf("%#04x → %g → %#04x", h, f, back)
		}
	}
}

// Rounding: the cases numpy's astype(np.float16) settles by
// round-to-nearest-even, at the edges of the normal and subnormal ranges.
func TestF32ToF16Rounding(t *testing.T) {
	cases := []struct {
		f    float32
		want uint16
	}{
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},                       // largest finite half
		{65519.996, 0x7bff},                   // below the midpoint to 65536
		{65520, 0x7c00},                       // midpoint, ties to even: Inf
		{1 + 1.0/2048, 0x3c00},                // half an ulp above 1: tie, 1 is even
		{1 + 3.0/2048, 0x3c02},                // tie between 0x3c01 and 0x3c02: even
		{float32(math.Ldexp(1, -24)), 0x0001}, // smallest subnormal
		{float32(math.Ldexp(1, -25)), 0x0000}, // half of it: tie to even 0
		{float32(math.Ldexp(3, -26)), 0x0001}, // 0.75 of it: rounds up
		{float32(math.Ldexp(1, -14)), 0x0400}, // smallest normal
		{float32(math.Ldexp(1023, -24)) + float32(math.Ldexp(1, -25)), 0x0400}, // tie between largest subnormal (odd) and smallest normal
		{float32(math.Inf(-1)), 0xfc00},
		{1e-30, 0},
	}
	for _, c := range cases {
		if got := FromFloat32(c.f); got != c.want {
			t.Errorf("FromFloat32(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}

// Exact values of a few halves (the table safetensors' F16 loading was
// checked against).
func TestToFloat32Values(t *testing.T) {
	cases := map[uint16]float32{
		0x0000: 0, 0x3c00: 1, 0xc000: -2, 0x3555: 0.333251953125, 0x7bff: 65504,
		0x0001: 5.960464477539063e-08, 0x8400: -6.103515625e-05, 0x7c00: float32(math.Inf(1)),
	}
	for h, want := range cases {
		if got := ToFloat32(h); got != want {
			t.Errorf("ToFloat32(%#04x) = %g, want %g", h, got, want)
		}
	}
	if !math.IsNaN(float64(ToFloat32(0x7e00))) {
		t.Error("0x7e00 is not NaN")
	}
	if got := math.Float32bits(ToFloat32(0x8000)); got != 0x80000000 {
		t.Errorf("-0 decodes to bits %#x", got)
	}
}

// refValue decodes binary16 bits independently of ToFloat32 (by the
// formula sign·(1+m/1024)·2^(e-15), or m·2^-24 for subnormals).
func refValue(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0:
		return sign * m * math.Ldexp(1, -24)
	case 0x1f:
		if m != 0 {
			return math.NaN()
		}
		return sign * math.Inf(1)
	}
	return sign * (1 + m/1024) * math.Ldexp(1, e-15)
}

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
	h := uint16(sort.Search(0x7c00, func(i int) bool { return refValue(uint16(i)) > x }) - 1)
	if h == 0x7bff {
		return sign | h
	}
	lo, hi := math.Abs(refValue(h)-x), math.Abs(refValue(h+1)-x)
	if hi < lo || (hi == lo && h&1 == 1) {
		h++
	}
	return sign | h
}

func TestFromFloat32Nearest(t *testing.T) {
	vals := []float32{0, 1, -1, 0.5, 65504, 65519.99, 65520, 1e9, -1e9, 6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, 1e-10,
		float32(math.Inf(1)), float32(math.Inf(-1)), 1 + 1.0/2048, 1 + 3.0/2048, 0.1, -0.333333, 1e-45}
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		// Embedding-like values (|x| < 1) and random bit patterns around half's range.
		vals = append(vals, float32(r.NormFloat64()*0.1), math.Float32frombits(r.Uint32()&0xbfffffff|0x30000000))
	}
	for _, v := range vals {
		if got, want := FromFloat32(v), nearestHalf(v); got != want {
			t.Errorf("FromFloat32(%g) = %#04x, want %#04x", v, got, want)
		}
	}
	if h := FromFloat32(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN -> %#04x", h)
	}
}
