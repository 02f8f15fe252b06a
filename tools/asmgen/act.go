package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Constants for the element-wise kernels, each replicated 16 times (64
// bytes) so that it can be a full-width memory operand for ymm and zmm.
var actConsts = []struct {
	name string
	bits uint32
}{
	{"one", math.Float32bits(1)},
	{"two", math.Float32bits(2)},
	{"half", math.Float32bits(0.5)},
	{"absmask", 0x7fffffff},
	// exp: clamp so that 2^n stays a normal float for the exponent-add
	// scaling of the AVX2 path (n in [-125, 127]); e^88 = 1.65e38 and
	// e^-86.5 = 2.7e-38, so outputs beyond are off by less than 3e-38.
	{"expmax", math.Float32bits(88.0)},
	{"expmin", math.Float32bits(-86.5)},
	{"log2e", math.Float32bits(1.44269504088896341)},
	// Cephes expf: ln 2 split so that n·ln2hi is exact.
	{"ln2hi", math.Float32bits(0.693359375)},
	{"ln2lo", math.Float32bits(-2.12194440e-4)},
	{"exp0", math.Float32bits(1.9875691500e-4)},
	{"exp1", math.Float32bits(1.3981999507e-3)},
	{"exp2", math.Float32bits(8.3334519073e-3)},
	{"exp3", math.Float32bits(4.1665795894e-2)},
	{"exp4", math.Float32bits(1.6666665459e-1)},
	{"exp5", math.Float32bits(5.0000001201e-1)},
	// QuickGELU: x·σ(1.702x) = x / (1 + e^(-1.702x)).
	{"qgelu", math.Float32bits(-1.702)},
	// erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), the formula
	// PyTorch's own vectorised erf uses.
	{"rsqrt2", math.Float32bits(float32(1 / math.Sqrt2))},
	{"erfp", math.Float32bits(0.3275911)},
	{"erfa1", math.Float32bits(0.254829592)},
	{"erfa2", math.Float32bits(-0.284496736)},
	{"erfa3", math.Float32bits(1.421413741)},
	{"erfa4", math.Float32bits(-1.453152027)},
	{"erfa5", math.Float32bits(1.061405429)},
}

var constMem = map[string]Mem{}

func declareConsts() {
	tab := GLOBL("actconst", RODATA|NOPTR)
	for i, c := range actConsts {
		for l := 0; l < 16; l++ {
			DATA(64*i+4*l, U32(c.bits))
		}
		constMem[c.name] = tab.Offset(64 * i)
	}
}

func k(name string) Mem {
	m, ok := constMem[name]
	if !ok {
		panic("no constant " + name)
	}
	return m
}

// isa abstracts the few places where the zmm and ymm code differ.
type isa struct {
	name  string
	width int // floats per vector
	vec   func() reg.VecVirtual
	// scale2n sets dst = y·2^n for n holding an integral float.
	scale2n func(y, n, dst reg.VecVirtual)
	round   func(x reg.VecVirtual)
}

var isas = []isa{
	{
		name: "AVX512", width: 16, vec: ZMM,
		scale2n: func(y, n, dst reg.VecVirtual) { VSCALEFPS(n, y, dst) },
		round:   func(x reg.VecVirtual) { VRNDSCALEPS(U8(0), x, x) },
	},
	{
		name: "AVX2", width: 8, vec: YMM,
		scale2n: func(y, n, dst reg.VecVirtual) {
			VCVTPS2DQ(n, n)
			VPSLLD(U8(23), n, n)
			VPADDD(n, y, dst)
		},
		round: func(x reg.VecVirtual) { VROUNDPS(U8(0), x, x) },
	},
}

// exp replaces x by e^x (Cephes expf: |relative error| ≲ 2 ulp).
func (s isa) exp(x reg.VecVirtual) {
	n, p, z := s.vec(), s.vec(), s.vec()
	VMINPS(k("expmax"), x, x)
	VMAXPS(k("expmin"), x, x)
	VMULPS(k("log2e"), x, n)
	s.round(n)
	VFNMADD231PS(k("ln2hi"), n, x)
	VFNMADD231PS(k("ln2lo"), n, x)
	VMOVUPS(k("exp0"), p)
	for _, c := range []string{"exp1", "exp2", "exp3", "exp4", "exp5"} {
		VFMADD213PS(k(c), x, p)
	}
	VMULPS(x, x, z)
	VFMADD213PS(x, z, p) // p = p·x² + x
	VADDPS(k("one"), p, p)
	s.scale2n(p, n, x)
}

// loop emits a function body applying body to each vector of x[0:n].
func (s isa) loop(name string, prologue func(), body func(x reg.VecVirtual)) {
	ptr, n := GP64(), GP64()
	Load(Param("x"), ptr)
	Load(Param("n"), n)
	if prologue != nil {
		prologue()
	}
	TESTQ(n, n)
	JE(LabelRef(name + "_done"))
	Label(name + "_loop")
	x := s.vec()
	VMOVUPS(Mem{Base: ptr}, x)
	body(x)
	VMOVUPS(x, Mem{Base: ptr})
	ADDQ(U8(4*s.width), ptr)
	SUBQ(U8(s.width), n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

func genAct() {
	declareConsts()
	for _, s := range isas {
		s := s
		name := "exp" + s.name
		TEXT(name, NOSPLIT, "func(x *float32, n int, scale, shift float32)")
		Doc(fmt.Sprintf("%s sets x[i] = exp(x[i]·scale - shift) for i < n; n is a multiple of %d.", name, s.width))
		var sc, sh reg.VecVirtual
		s.loop(name, func() {
			sc, sh = s.vec(), s.vec()
			VBROADCASTSS(paramAddr("scale"), sc)
			VBROADCASTSS(paramAddr("shift"), sh)
		}, func(x reg.VecVirtual) {
			VMULPS(sc, x, x)
			VSUBPS(sh, x, x)
			s.exp(x)
		})

		name = "quickGELU" + s.name
		TEXT(name, NOSPLIT, "func(x *float32, n int)")
		Doc(fmt.Sprintf("%s sets x[i] = x[i]·σ(1.702·x[i]) for i < n; n is a multiple of %d.", name, s.width))
		s.loop(name, nil, func(x reg.VecVirtual) {
			e := s.vec()
			VMULPS(k("qgelu"), x, e)
			s.exp(e)
			VADDPS(k("one"), e, e)
			VDIVPS(e, x, x)
		})

		name = "gelu" + s.name
		TEXT(name, NOSPLIT, "func(x *float32, n int)")
		Doc(fmt.Sprintf("%s sets x[i] = 0.5·x[i]·(1+erf(x[i]/√2)) for i < n; n is a multiple of %d.", name, s.width),
			"1+erf is computed as 2-q for x ≥ 0 and q for x < 0, q = erfc(|x|/√2), so",
			"negative inputs suffer no cancellation.")
		s.loop(name, nil, func(x reg.VecVirtual) {
			a, t, one, p, e, d := s.vec(), s.vec(), s.vec(), s.vec(), s.vec(), s.vec()
			VANDPS(k("absmask"), x, a)
			VMULPS(k("rsqrt2"), a, a) // a = |x|/√2
			VMOVUPS(k("one"), one)
			VMOVUPS(one, t)
			VFMADD231PS(k("erfp"), a, t) // t = 1 + p·a
			VDIVPS(t, one, t)            // t = 1/(1+p·a)
			VMOVUPS(k("erfa5"), p)
			for _, c := range []string{"erfa4", "erfa3", "erfa2", "erfa1"} {
				VFMADD213PS(k(c), t, p)
			}
			VMULPS(t, p, p) // p = t·(a1 + t·(a2 + …))
			VXORPS(e, e, e)
			VFNMADD231PS(a, a, e) // e = -a²
			s.exp(e)
			VMULPS(e, p, p) // p = q = erfc(|x|/√2)
			VPSRAD(U8(31), x, d)
			VMOVUPS(k("two"), e)
			VFNMADD231PS(k("two"), p, e) // e = 2 - 2q
			VANDNPS(e, d, e)             // e = x<0 ? 0 : 2-2q
			VADDPS(e, p, p)              // p = 1 + erf(x/√2)
			VMULPS(k("half"), x, x)
			VMULPS(p, x, x)
		})
	}
}
