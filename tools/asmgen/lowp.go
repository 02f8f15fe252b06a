package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Reduced-precision micro-kernels (AVX2): bf16 weights widened to float32 in
// registers, and int8 weights against u8 activations widened to int16. Both
// use the register tile of the AVX2 sgemm kernels: mr = 1…6 rows, nr = 16
// columns (two ymm), 12 accumulators.

const bgemmSig = "func(k int, a *float32, lda int, b *uint16, c *float32, ldc int, bias *float32, acc int)"

// genBgemm emits bgemmAVX2x1…6: C[mr,16] (+)= A[mr,k]·widen(Bp[k,16]) (+bias).
// Bp holds 16 bf16 per k, column i in the low half and column 8+i in the
// high half of dword i, so that a shift left by 16 gives columns 0…7 and a
// mask of the high halves columns 8…15 as float32.
func genBgemm() {
	mask := GLOBL("bf16hi", RODATA|NOPTR)
	for l := 0; l < 8; l++ {
		DATA(4*l, U32(0xffff0000))
	}
	for mr := 1; mr <= 6; mr++ {
		name := fmt.Sprintf("bgemmAVX2x%d", mr)
		TEXT(name, NOSPLIT, bgemmSig)
		Doc(fmt.Sprintf("%s computes C[%d,16] = A[%d,k]·Bp[k,16] (+C if acc≠0) (+bias if non-nil), Bp in bf16.", name, mr, mr))
		y := func(i int) reg.VecPhysical { return reg.VecPhysical(ymm[i]) }
		bases := []reg.Register{reg.RAX, reg.RBX, reg.RSI, reg.RDI}
		k, stride, bp := reg.RCX, reg.RDX, reg.R8
		lo, hi, t, m := y(12), y(13), y(14), y(15)
		Load(Param("k"), k)
		Load(Param("a"), bases[0])
		Load(Param("lda"), stride)
		SHLQ(U8(2), stride)
		Load(Param("b"), bp)
		setupBases(bases, stride, mr)
		VMOVDQU(mask, m)
		for i := 0; i < 2*mr; i++ {
			VXORPS(y(i), y(i), y(i))
		}
		nb := (mr + 2) / 3
		step := func(u int) {
			VMOVDQU(Mem{Base: bp, Disp: 32 * u}, hi)
			VPSLLD(U8(16), hi, lo)
			VPAND(m, hi, hi)
			for r := 0; r < mr; r++ {
				VBROADCASTSS(rowMem(bases, stride, r, 4*u), t)
				VFMADD231PS(t, lo, y(2*r))
				VFMADD231PS(t, hi, y(2*r+1))
			}
		}
		kloop(name, k, 4, func(u int) { step(u) }, func(n int) {
			for i := 0; i < nb; i++ {
				ADDQ(U8(4*n), bases[i])
			}
			ADDQ(U32(32*n), bp)
		})
		f32Store(name, mr, bases, stride, k, bp, lo, hi)
	}
}

// kloop emits the k loop: body(u) for u < unroll per iteration while k ≥
// unroll, then body(0) per remaining step; advance(n) moves the pointers on
// by n steps.
func kloop(name string, k reg.Register, unroll int, body func(u int), advance func(n int)) {
	CMPQ(k, U8(unroll))
	JL(LabelRef(name + "_tail"))
	Label(name + "_loop")
	for u := 0; u < unroll; u++ {
		body(u)
	}
	advance(unroll)
	SUBQ(U8(unroll), k)
	CMPQ(k, U8(unroll))
	JGE(LabelRef(name + "_loop"))
	Label(name + "_tail")
	TESTQ(k, k)
	JE(LabelRef(name + "_store"))
	Label(name + "_loop1")
	body(0)
	advance(1)
	DECQ(k)
	JNZ(LabelRef(name + "_loop1"))
	Label(name + "_store")
}

// f32Store adds C (if acc ≠ 0) and bias (if non-nil) to the accumulators
// Y0…Y(2mr-1) and stores them to C; t0, t1 are free vector registers.
func f32Store(name string, mr int, bases []reg.Register, stride, tmp, ptr reg.Register, t0, t1 reg.VecPhysical) {
	y := func(i int) reg.VecPhysical { return reg.VecPhysical(ymm[i]) }
	Load(Param("c"), bases[0])
	Load(Param("ldc"), stride)
	SHLQ(U8(2), stride)
	setupBases(bases, stride, mr)
	Load(Param("acc"), tmp)
	TESTQ(tmp, tmp)
	JE(LabelRef(name + "_bias"))
	for r := 0; r < mr; r++ {
		for j := 0; j < 2; j++ {
			VADDPS(rowMem(bases, stride, r, 32*j), y(2*r+j), y(2*r+j))
		}
	}
	Label(name + "_bias")
	Load(Param("bias"), ptr)
	TESTQ(ptr, ptr)
	JE(LabelRef(name + "_out"))
	VMOVUPS(Mem{Base: ptr}, t0)
	VMOVUPS(Mem{Base: ptr, Disp: 32}, t1)
	for r := 0; r < mr; r++ {
		VADDPS(t0, y(2*r), y(2*r))
		VADDPS(t1, y(2*r+1), y(2*r+1))
	}
	Label(name + "_out")
	for r := 0; r < mr; r++ {
		for j := 0; j < 2; j++ {
			VMOVUPS(y(2*r+j), rowMem(bases, stride, r, 32*j))
		}
	}
	VZEROUPPER()
	RET()
}

const qgemmSig = "func(kp int, a *int16, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)"

// genQgemm emits qgemmAVX2x1…6. A holds u8 activations widened to int16
// (row stride lda values, k rounded up to pairs), Bp per k pair 32 bytes:
// (col j, k), (col j, k+1) for j = 0…15. One VPMADDWD multiplies a
// broadcast activation pair by 8 columns' weight pairs and sums each pair
// into int32, exactly (|a·w + a'·w'| ≤ 2·255·128). The epilogue removes
// the activation zero point (az per row, wsum = Σ_k w per column), then
// scales: C = float32(Σ) · ws[j] · as[row].
func genQgemm() {
	for mr := 1; mr <= 6; mr++ {
		name := fmt.Sprintf("qgemmAVX2x%d", mr)
		TEXT(name, NOSPLIT, qgemmSig)
		Doc(fmt.Sprintf("%s computes C[%d,16] from int16 activations and int8 weights (see genQgemm).", name, mr))
		y := func(i int) reg.VecPhysical { return reg.VecPhysical(ymm[i]) }
		bases := []reg.Register{reg.RAX, reg.RBX, reg.RSI, reg.RDI}
		k, stride, bp := reg.RCX, reg.RDX, reg.R8
		w0, w1, t, p := y(12), y(13), y(14), y(15)
		Load(Param("kp"), k)
		Load(Param("a"), bases[0])
		Load(Param("lda"), stride)
		SHLQ(U8(1), stride)
		Load(Param("b"), bp)
		setupBases(bases, stride, mr)
		for i := 0; i < 2*mr; i++ {
			VPXOR(y(i), y(i), y(i))
		}
		nb := (mr + 2) / 3
		step := func(u int) {
			VPMOVSXBW(Mem{Base: bp, Disp: 32 * u}, w0)
			VPMOVSXBW(Mem{Base: bp, Disp: 32*u + 16}, w1)
			for r := 0; r < mr; r++ {
				VPBROADCASTD(rowMem(bases, stride, r, 4*u), t)
				VPMADDWD(w0, t, p)
				VPADDD(p, y(2*r), y(2*r))
				VPMADDWD(w1, t, p)
				VPADDD(p, y(2*r+1), y(2*r+1))
			}
		}
		kloop(name, k, 4, step, func(n int) {
			for i := 0; i < nb; i++ {
				ADDQ(U8(4*n), bases[i])
			}
			ADDQ(U32(32*n), bp)
		})
		// Zero point and scales, row by row.
		asp, azp, lds, wsp, wsum := loadQScales()
		VMOVDQU(Mem{Base: wsum}, w0)
		VMOVDQU(Mem{Base: wsum, Disp: 32}, w1)
		for r := 0; r < mr; r++ {
			qScaleRow([]reg.VecPhysical{y(2 * r), y(2*r + 1)}, []reg.VecPhysical{w0, w1}, wsp, 8, azp, asp, t, p)
			if r+1 < mr {
				ADDQ(lds, asp)
				ADDQ(lds, azp)
			}
		}
		f32Store(name, mr, bases, stride, k, bp, w0, w1)
	}
}
