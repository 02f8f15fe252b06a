package index

import (
	"bytes"
	"math"
	"testing"
)

// Every binary16 value survives float16 → float32 → float16 (NaNs stay
// NaN): the float32 conversion is exact and the rounding is the identity
// on representable values.
func TestF16RoundTripAll(t *testing.T) {
	for h := range 1 << 16 {
		f := f16ToF32(uint16(h))
		back := f32ToF16(f)
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
		if got := f32ToF16(c.f); got != c.want {
			t.Errorf("f32ToF16(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}

func TestNPYRoundTrip(t *testing.T) {
	data := []float32{1, -2, 0.5, 3.25, 1e-3, -7}
	for _, dt := range []string{Float32, Float16} {
		var buf bytes.Buffer
		if err := writeNPY(&buf, data, 2, 3, dt); err != nil {
			t.Fatal(err)
		}
		hl := int(buf.Bytes()[8]) | int(buf.Bytes()[9])<<8
		if (10+hl)%64 != 0 {
			t.Errorf("%s: data starts at %d, not 64-byte aligned", dt, 10+hl)
		}
		got, gotDT, err := readNPY(bytes.NewReader(buf.Bytes()), 2, 3)
		if err != nil || gotDT != dt {
			t.Fatalf("%s: %v %s", dt, err, gotDT)
		}
		for i, v := range data {
			want := v
			if dt == Float16 {
				want = f16ToF32(f32ToF16(v))
			}
			if got[i] != want {
				t.Errorf("%s [%d] = %g, want %g", dt, i, got[i], want)
			}
		}
		if _, _, err := readNPY(bytes.NewReader(buf.Bytes()), 3, 3); err == nil {
			t.Errorf("%s: shape mismatch with the manifest accepted", dt)
		}
		if _, _, err := readNPY(bytes.NewReader(buf.Bytes()[:buf.Len()-1]), 2, 3); err == nil {
			t.Errorf("%s: truncated data accepted", dt)
		}
	}
}
