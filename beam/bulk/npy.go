package bulk

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// npyBytes encodes rows [n][d] as a NumPy .npy file (format version 1.0,
// C order), little-endian float16 ('<f2', rounded as numpy's astype:
// to nearest, ties to even) or float32 ('<f4'). The header is numpy's own
// (np.save): the dict padded with spaces to a multiple of 64 bytes.
func npyBytes(rows [][]float32, d int, half bool) ([]byte, error) {
	descr, size := "<f4", 4
	if half {
		descr, size = "<f2", 2
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }", descr, len(rows), d)
	// magic(6) + version(2) + header length(2) + dict + padding + '\n'.
	total := 10 + len(dict) + 1
	pad := (64 - total%64) % 64
	header := dict + strings.Repeat(" ", pad) + "\n"
	if len(header) > math.MaxUint16 {
		return nil, fmt.Errorf("bulk: npy header too long")
	}
	out := make([]byte, 0, 10+len(header)+len(rows)*d*size)
	out = append(out, "\x93NUMPY\x01\x00"...)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(header)))
	out = append(out, header...)
	for i, r := range rows {
		if len(r) != d {
			return nil, fmt.Errorf("bulk: row %d has %d values, want %d", i, len(r), d)
		}
		for _, v := range r {
			if half {
				out = binary.LittleEndian.AppendUint16(out, float16Bits(v))
			} else {
				out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
			}
		}
	}
	return out, nil
}

// float16Bits converts f to IEEE 754 binary16, rounding to nearest with
// ties to even (numpy's float32 -> float16 cast); overflow gives ±Inf,
// NaN stays NaN (quiet), tiny values become subnormals or ±0.
func float16Bits(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15: // certainly overflows
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // biased half exponent
	if e <= 0 {
		// Subnormal half (or zero): value = man24 * 2^(exp-150); half
		// subnormal unit is 2^-24, so shift man24 right by (126 - exp) - 24 + ... .
		if e < -10 {
			return sign // rounds to ±0 (below half the smallest subnormal)
		}
		m := man | 0x800000 // 24-bit significand
		if exp == 0 {
			return sign // float32 subnormals are far below half's range
		}
		shift := uint32(14 - e) // 14..24
		h := m >> shift
		rem := m & (1<<shift - 1)
		halfway := uint32(1) << (shift - 1)
		if rem > halfway || (rem == halfway && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // may carry into the exponent, up to 0x7c00 = Inf: correct
	}
	return sign | uint16(h)
}

// float16Value decodes binary16 bits (for tests and checks).
func float16Value(h uint16) float32 {
	sign := float32(1)
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float32(h & 0x3ff)
	switch e {
	case 0:
		return sign * m * float32(math.Pow(2, -24))
	case 0x1f:
		if m != 0 {
			return float32(math.NaN())
		}
		return sign * float32(math.Inf(1))
	}
	return sign * (1 + m/1024) * float32(math.Pow(2, float64(e-15)))
}
