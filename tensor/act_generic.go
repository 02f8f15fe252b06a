package tensor

import (
	"math"
	"unsafe"
)

func goExp(x *float32, n int, scale, shift float32) {
	s := unsafe.Slice(x, n)
	for i, v := range s {
		s[i] = float32(math.Exp(float64(v*scale - shift)))
	}
}

func goQuickGELU(x *float32, n int) {
	s := unsafe.Slice(x, n)
	for i, v := range s {
		s[i] = v / (1 + float32(math.Exp(-1.702*float64(v))))
	}
}

func goGELU(x *float32, n int) {
	s := unsafe.Slice(x, n)
	for i, v := range s {
		s[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
	}
}

// maxVecWidth is the widest vector width of any kernel set.
const maxVecWidth = 16

// expScaled sets x[i] = exp(x[i]·scale - shift) with the kernels of s:
// whole vectors in place, the tail through a zero-padded stack buffer so
// that no value beyond len(x) is touched.
func expScaled(s isa, x []float32, scale, shift float32) {
	w := vecWidth(s)
	body := len(x) &^ (w - 1)
	if body > 0 {
		vecExp(s, &x[0], body, scale, shift)
	}
	if tail := x[body:]; len(tail) > 0 {
		var buf [maxVecWidth]float32
		copy(buf[:], tail)
		vecExp(s, &buf[0], w, scale, shift)
		copy(tail, buf[:])
	}
}

// activate applies act to x in place with the kernels of s (tail as in
// expScaled).
func activate(s isa, x []float32, act Activation) {
	if act == ActNone || len(x) == 0 {
		return
	}
	if act == ActGELUTanh {
		geluTanh(s, x)
		return
	}
	w := vecWidth(s)
	body := len(x) &^ (w - 1)
	var buf [maxVecWidth]float32
	tail := x[body:]
	copy(buf[:], tail)
	switch act {
	case ActQuickGELU:
		if body > 0 {
			vecQuickGELU(s, &x[0], body)
		}
		if len(tail) > 0 {
			vecQuickGELU(s, &buf[0], w)
		}
	case ActGELU:
		if body > 0 {
			vecGELU(s, &x[0], body)
		}
		if len(tail) > 0 {
			vecGELU(s, &buf[0], w)
		}
	}
	copy(tail, buf[:])
}

// geluTanh applies the tanh GELU to x in place through the exp kernel of
// s: 0.5x(1+tanh(u)) = x/(1+exp(-2u)) with u = √(2/π)(x+0.044715x³)
// computed in float32 as PyTorch does. Where exp overflows (x < -9.9)
// the kernel's clamp gives x/(1+e^88), which rounds to the true value's
// magnitude of at most 1e-36.
func geluTanh(s isa, x []float32) {
	const chunk = 256
	var buf [chunk]float32
	const k = -2 * 0.7978845608028654 // -2√(2/π)
	for len(x) > 0 {
		n := min(len(x), chunk)
		for i, v := range x[:n] {
			buf[i] = v + 0.044715*v*v*v
		}
		expScaled(s, buf[:n], k, 0)
		for i, v := range x[:n] {
			x[i] = v / (1 + buf[i])
		}
		x = x[n:]
	}
}
