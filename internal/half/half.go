// Package half converts between float32 and IEEE 754 binary16 (float16)
// bit patterns: the one conversion used by the index files, the bulk
// pipeline's .npy parts and safetensors F16 loading.
package half

import "math"

// FromFloat32 rounds a float32 to the nearest IEEE 754 binary16 (ties to
// even), as numpy's astype(np.float16) does; overflow gives ±Inf, NaN
// stays NaN.
func FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp > 127+15: // overflow
		return sign | 0x7c00
	case exp >= 127-14: // normal half
		e := uint32(exp-127+15) << 10
		v := e | man>>13
		rest := man & 0x1fff
		if rest > 0x1000 || (rest == 0x1000 && v&1 == 1) {
			v++ // may carry into the exponent, up to Inf: correct
		}
		return sign | uint16(v)
	case exp >= 127-25: // subnormal half (or rounds to the smallest normal)
		m := man | 0x800000
		// value = m·2^(exp-150); in units of 2^-24 that is m >> (126-exp).
		shift := uint32(126 - exp)
		v := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || (rest == half && v&1 == 1) {
			v++
		}
		return sign | uint16(v)
	default:
		return sign
	}
}

// ToFloat32 converts an IEEE 754 binary16 value to float32 exactly.
func ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	default: // subnormal: man·2^-24, exact in float32
		f := float32(man) / (1 << 24)
		if sign != 0 {
			f = -f
		}
		return f
	}
}
