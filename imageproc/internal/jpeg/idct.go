// Copyright 2026 The goclip Authors. The algorithm and constants are
// libjpeg's jidctint.c (Copyright (C) 1991-1998, Thomas G. Lane; libjpeg-turbo
// modifications Copyright (C) 2015, 2020, D. R. Commander), used under the
// Independent JPEG Group's licence.

package jpeg

// block is an 8x8 block of dequantized DCT coefficients in natural order.
type block [blockSize]int32

const blockSize = 8 * 8

// jidctint.c's fixed-point constants (CONST_BITS = 13).
const (
	constBits = 13
	pass1Bits = 2

	fix0298631336 = 2446
	fix0390180644 = 3196
	fix0541196100 = 4433
	fix0765366865 = 6270
	fix0899976223 = 7373
	fix1175875602 = 9633
	fix1501321110 = 12299
	fix1847759065 = 15137
	fix1961570560 = 16069
	fix2053119869 = 16819
	fix2562915447 = 20995
	fix3072711026 = 25172
)

// descale is libjpeg's DESCALE: divide by 2^n, rounding.
func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

// rangeLimit is libjpeg's idct_range_limit lookup (RANGE_MASK 1023):
// centred values wrap modulo 1024, then [-128,127] maps to [0,255], values
// above saturate at 255 and values below at 0.
func rangeLimit(v int64) uint8 {
	i := int(v) & 1023
	switch {
	case i < 128:
		return uint8(i + 128)
	case i < 512:
		return 255
	case i < 896:
		return 0
	}
	return uint8(i - 896)
}

// idct1 is the 1-D odd/even butterfly shared by both passes; in holds the
// eight inputs in coefficient order, and it returns the unscaled outputs.
func idct1(in0, in1, in2, in3, in4, in5, in6, in7 int64) (o [8]int64) {
	// Even part.
	z2, z3 := in2, in6
	z1 := (z2 + z3) * fix0541196100
	tmp2 := z1 + z3*-fix1847759065
	tmp3 := z1 + z2*fix0765366865
	tmp0 := (in0 + in4) << constBits
	tmp1 := (in0 - in4) << constBits
	tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
	tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
	// Odd part.
	tmp0, tmp1, tmp2, tmp3 = in7, in5, in3, in1
	z1 = tmp0 + tmp3
	z2 = tmp1 + tmp2
	z3 = tmp0 + tmp2
	z4 := tmp1 + tmp3
	z5 := (z3 + z4) * fix1175875602
	tmp0 *= fix0298631336
	tmp1 *= fix2053119869
	tmp2 *= fix3072711026
	tmp3 *= fix1501321110
	z1 *= -fix0899976223
	z2 *= -fix2562915447
	z3 *= -fix1961570560
	z4 *= -fix0390180644
	z3 += z5
	z4 += z5
	tmp0 += z1 + z3
	tmp1 += z2 + z4
	tmp2 += z2 + z3
	tmp3 += z1 + z4
	return [8]int64{tmp10 + tmp3, tmp11 + tmp2, tmp12 + tmp1, tmp13 + tmp0,
		tmp13 - tmp0, tmp12 - tmp1, tmp11 - tmp2, tmp10 - tmp3}
}

// idctIslow is libjpeg's jpeg_idct_islow on dequantized coefficients:
// columns into a 32-bit workspace scaled by 2^PASS1_BITS, then rows,
// descaled, level-shifted and range-limited into dst.
func idctIslow(b *block, dst []byte, stride int) {
	var ws [blockSize]int32
	for c := 0; c < 8; c++ {
		if b[8+c] == 0 && b[16+c] == 0 && b[24+c] == 0 && b[32+c] == 0 &&
			b[40+c] == 0 && b[48+c] == 0 && b[56+c] == 0 {
			dc := int32(int64(b[c]) << pass1Bits)
			for r := 0; r < 8; r++ {
				ws[8*r+c] = dc
			}
			continue
		}
		o := idct1(int64(b[c]), int64(b[8+c]), int64(b[16+c]), int64(b[24+c]),
			int64(b[32+c]), int64(b[40+c]), int64(b[48+c]), int64(b[56+c]))
		for r := 0; r < 8; r++ {
			ws[8*r+c] = int32(descale(o[r], constBits-pass1Bits))
		}
	}
	for r := 0; r < 8; r++ {
		w := ws[8*r : 8*r+8]
		out := dst[r*stride : r*stride+8]
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := rangeLimit(descale(int64(w[0]), pass1Bits+3))
			for x := range out {
				out[x] = v
			}
			continue
		}
		o := idct1(int64(w[0]), int64(w[1]), int64(w[2]), int64(w[3]),
			int64(w[4]), int64(w[5]), int64(w[6]), int64(w[7]))
		for x := range out {
			out[x] = rangeLimit(descale(o[x], constBits+pass1Bits+3))
		}
	}
}
