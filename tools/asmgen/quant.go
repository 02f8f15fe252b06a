package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genQuant emits the AVX2 helpers of the int8 products' activation
// quantisation, over n floats (n a positive multiple of 8):
//
//   - minMaxAVX2: the smallest and largest value, and whether any is NaN
//     (VMINPS/VMAXPS alone would drop a NaN).
//   - quantizeU8AVX2: q[i] = clamp(round(x[i]·inv) + zero, 0, 255) as int16,
//     rounding to nearest even (VCVTPS2DQ under the default MXCSR).
func genQuant() {
	TEXT("minMaxAVX2", NOSPLIT, "func(x *float32, n int) (lo, hi float32, nan bool)")
	Doc("minMaxAVX2 returns min and max of x[0:n] and whether any is NaN; n is a positive multiple of 8.")
	x, n := GP64(), GP64()
	Load(Param("x"), x)
	Load(Param("n"), n)
	lo, hi, un, v := YMM(), YMM(), YMM(), YMM()
	VMOVUPS(Mem{Base: x}, lo)
	VMOVUPS(lo, hi)
	VXORPS(un, un, un)
	Label("minmax_loop")
	VMOVUPS(Mem{Base: x}, v)
	VMINPS(v, lo, lo)
	VMAXPS(v, hi, hi)
	VCMPPS(U8(3), v, v, v) // unordered: NaN lanes all ones
	VORPS(v, un, un)
	ADDQ(U8(32), x)
	SUBQ(U8(8), n)
	JNZ(LabelRef("minmax_loop"))
	reduce := func(acc reg.VecVirtual, op func(...Op)) {
		t := XMM()
		VEXTRACTF128(U8(1), acc, t)
		op(t, acc.AsX(), acc.AsX())
		VPERMILPS(U8(0x4e), acc.AsX(), t)
		op(t, acc.AsX(), acc.AsX())
		VPERMILPS(U8(0xb1), acc.AsX(), t)
		op(t, acc.AsX(), acc.AsX())
	}
	reduce(lo, func(o ...Op) { VMINPS(o[0], o[1], o[2]) })
	reduce(hi, func(o ...Op) { VMAXPS(o[0], o[1], o[2]) })
	VMOVSS(lo.AsX(), retAddr("lo"))
	VMOVSS(hi.AsX(), retAddr("hi"))
	VMOVMSKPS(un, n.As32())
	TESTL(n.As32(), n.As32())
	SETNE(retAddr("nan"))
	VZEROUPPER()
	RET()

	TEXT("quantizeU8AVX2", NOSPLIT, "func(q *int16, x *float32, n int, inv float32, zero int32)")
	Doc("quantizeU8AVX2 sets q[i] = clamp(round(x[i]·inv) + zero, 0, 255) for i < n, a positive multiple of 8.")
	qp, xp, cnt := GP64(), GP64(), GP64()
	Load(Param("q"), qp)
	Load(Param("x"), xp)
	Load(Param("n"), cnt)
	vinv, vz, v0, v255 := YMM(), YMM(), YMM(), YMM()
	ix := XMM()
	Load(Param("inv"), ix)
	VBROADCASTSS(ix, vinv)
	zr, zx := GP32(), XMM()
	Load(Param("zero"), zr)
	VMOVD(zr, zx)
	VPBROADCASTD(zx, vz)
	VPXOR(v0, v0, v0)
	VPCMPEQD(v255, v255, v255)
	VPSRLD(U8(24), v255, v255) // 255
	Label("quant_loop")
	a := YMM()
	VMULPS(Mem{Base: xp}, vinv, a)
	VCVTPS2DQ(a, a)
	VPADDD(vz, a, a)
	VPMAXSD(v0, a, a)
	VPMINSD(v255, a, a)
	h := XMM()
	VEXTRACTI128(U8(1), a, h)
	VPACKSSDW(h, a.AsX(), h)
	VMOVDQU(h, Mem{Base: qp})
	ADDQ(U8(32), xp)
	ADDQ(U8(16), qp)
	SUBQ(U8(8), cnt)
	JNZ(LabelRef("quant_loop"))
	VZEROUPPER()
	RET()
}

func retAddr(name string) Mem {
	b, err := Return(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}
