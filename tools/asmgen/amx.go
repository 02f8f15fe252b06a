package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The AMX kernels (Sapphire Rapids and later: AMX-TILE with AMX-INT8 or
// AMX-BF16). Neither Go's assembler nor avo knows the tile instructions,
// so every one is bytes behind a macro named after what it encodes (Go
// operand order, sources first), checked by TestLowpEncodings with a
// disassembler. Written on an AVX2-only machine; TestLowpEmulated runs
// them on Bochs built with AMX (tools/emu/build_bochscpu_amx.sh), not in CI.
//
// One call computes the int32 sums (float32 for bf16) of mr ≤ 16 rows of
// activations against np panels of 16 columns, into np 16×16 buffers,
// from the dot-product layouts of vnni.go, which are already AMX's B-tile
// layout: one 64-byte tile row per quad of u8 inputs (16 columns × 4
// bytes) or per pair of bf16 inputs (16 × 2 × 2 bytes). Panels go two at a
// time, sharing each A tile; an odd last one goes alone. The tiles,
// configured by the caller (amxConfig):
//
//	tmm0: A, mr rows × 64 bytes (16 quads/pairs of each row)
//	tmm1, tmm2: B of the two panels, 16 rows × 64 bytes
//	tmm3: A of the remaining tail < 16 quads/pairs
//	tmm6, tmm7: B of the tail, of the two panels
//	tmm4, tmm5: C of the two panels, mr rows × 16 dwords
//
// The tile configuration is loaded once per call and the tile state
// released before it returns, so a goroutine never leaves it live across
// a preemption point. The epilogues (scale, zero point, C, bias) are
// qFinishAVX512 and finishAVX512, run per panel on the buffers.

// vexAMX encodes a VEX.128.0F38.W0 tile instruction: pp (0 none, 1 66,
// 2 F3, 3 F2), opcode, ModRM reg and rm fields, VEX.vvvv, and an optional
// SIB byte (mod = 00, rm = 100) for [base + index·1]; regs 0…7 only.
func vexAMX(pp, op byte, regField, rm, vvvv byte, sib bool, base, index byte) []byte {
	b1 := byte(0xe2) // R̄ X̄ B̄ = 111 (registers 0…7), map 0F38
	b2 := (^vvvv&0xf)<<3 | pp
	if !sib {
		mod := byte(0xc0)
		if rm != 0xff && regField == 0xff { // [rm] memory operand, no SIB
			return []byte{0xc4, b1, b2, op, rm}
		}
		return []byte{0xc4, b1, b2, op, mod | regField<<3 | rm}
	}
	return []byte{0xc4, b1, b2, op, regField<<3 | 4, index<<3 | base}
}

// gpr numbers and names of the general registers the kernels address.
var gprNum = map[reg.Register]byte{reg.RAX: 0, reg.RCX: 1, reg.RDX: 2, reg.RBX: 3, reg.RSI: 6, reg.RDI: 7}

func gprName(r reg.Register) string {
	return map[byte]string{0: "AX", 1: "CX", 2: "DX", 3: "BX", 6: "SI", 7: "DI"}[gprNum[r]]
}

func ldtilecfg(base reg.Register) {
	emitMacro("LDTILECFG_"+gprName(base), "AMXTILE", vexAMX(0, 0x49, 0xff, gprNum[base], 0, false, 0, 0))
}

func tilerelease() { emitMacro("TILERELEASE", "AMXTILE", []byte{0xc4, 0xe2, 0x78, 0x49, 0xc0}) }

func tilezero(t byte) {
	emitMacro(fmt.Sprintf("TILEZERO_TMM%d", t), "AMXTILE", vexAMX(3, 0x49, t, 0, 0, false, 0, 0))
}

func tileloadd(base, index reg.Register, t byte) {
	emitMacro(fmt.Sprintf("TILELOADD_%s_%s_TMM%d", gprName(base), gprName(index), t), "AMXTILE",
		vexAMX(3, 0x4b, t, 0, 0, true, gprNum[base], gprNum[index]))
}

func tilestored(t byte, base, index reg.Register) {
	emitMacro(fmt.Sprintf("TILESTORED_TMM%d_%s_%s", t, gprName(base), gprName(index)), "AMXTILE",
		vexAMX(2, 0x4b, t, 0, 0, true, gprNum[base], gprNum[index]))
}

// tdp emits dst += A·B: TDPBUSD (u8 A × s8 B, int32) or TDPBF16PS; Intel
// order "op dst, A, B" has dst in ModRM.reg, A in ModRM.rm, B in VEX.vvvv.
func tdp(op string, b, a, dst byte) {
	pp, code := byte(1), byte(0x5e) // TDPBUSD: 66 5E
	if op == "TDPBF16PS" {
		pp, code = 2, 0x5c // F3 5C
	}
	emitMacro(fmt.Sprintf("%s_TMM%d_TMM%d_TMM%d", op, b, a, dst), "AMX", vexAMX(pp, code, dst, a, b, false, 0, 0))
}

// amxKernel emits amxInt8 or amxBF16: func(cfg *[64]byte, a *byte, lda
// int (bytes), b *byte, pstride int (bytes from one panel to the next),
// np int, c *byte (np 16×16 buffers), steps, tail int): steps whole tiles
// of 16 quads/pairs, then one tail tile when tail ≠ 0, per panel.
func amxKernel(name, op string) {
	TEXT(name, NOSPLIT, "func(cfg *[64]byte, a *byte, lda int, b *byte, pstride int, np int, c *byte, steps, tail int)")
	Doc(fmt.Sprintf("%s computes np 16-column panels of C[mr,16] with AMX tiles (%s; see amx.go).", name, op))
	// Tile addressing needs registers 0…7: AX (64, the B and C row
	// stride), DX (lda), SI (A), BX and DI (B of the two panels), CX (C).
	sixty4, lda, ap, b0, b1, cp := reg.RAX, reg.RDX, reg.RSI, reg.RBX, reg.RDI, reg.RCX
	a, b, ps, np, out, n := reg.R9, reg.R11, reg.R12, reg.R13, reg.R10, reg.R8
	Load(Param("cfg"), sixty4)
	ldtilecfg(sixty4)
	MOVQ(U32(64), sixty4)
	Load(Param("a"), a)
	Load(Param("lda"), lda)
	Load(Param("b"), b)
	Load(Param("pstride"), ps)
	Load(Param("np"), np)
	Load(Param("c"), out)
	// panels emits the loop over k for one or two panels and the stores.
	panels := func(lbl string, two bool) {
		// mac loads A into tile ta and the panels' B into tb0 (and tb1),
		// and adds their products to C (tmm4, tmm5).
		mac := func(ta, tb0, tb1 byte) {
			tileloadd(ap, lda, ta)
			tileloadd(b0, sixty4, tb0)
			tdp(op, tb0, ta, 4)
			if two {
				tileloadd(b1, sixty4, tb1)
				tdp(op, tb1, ta, 5)
			}
		}
		tilezero(4)
		if two {
			tilezero(5)
		}
		MOVQ(a, ap)
		MOVQ(b, b0)
		if two {
			LEAQ(Mem{Base: b, Index: ps, Scale: 1}, b1)
		}
		Load(Param("steps"), n)
		TESTQ(n, n)
		JE(LabelRef(lbl + "_tail"))
		Label(lbl + "_k")
		mac(0, 1, 2)
		ADDQ(U32(64), ap)
		ADDQ(U32(1024), b0)
		if two {
			ADDQ(U32(1024), b1)
		}
		DECQ(n)
		JNZ(LabelRef(lbl + "_k"))
		Label(lbl + "_tail")
		Load(Param("tail"), n)
		TESTQ(n, n)
		JE(LabelRef(lbl + "_store"))
		mac(3, 6, 7)
		Label(lbl + "_store")
		MOVQ(out, cp)
		tilestored(4, cp, sixty4)
		if two {
			ADDQ(U32(1024), cp)
			tilestored(5, cp, sixty4)
		}
	}
	Label(name + "_pairs")
	CMPQ(np, U8(2))
	JL(LabelRef(name + "_single"))
	panels(name+"_pair", true)
	ADDQ(U32(2048), out)
	LEAQ(Mem{Base: b, Index: ps, Scale: 2}, b)
	SUBQ(U8(2), np)
	JMP(LabelRef(name + "_pairs"))
	Label(name + "_single")
	TESTQ(np, np)
	JE(LabelRef(name + "_done"))
	panels(name+"_one", false)
	Label(name + "_done")
	tilerelease()
	RET()
}

// finishKernels emits the AMX epilogues, one 16-column panel of mr rows
// from a 16×16 buffer of sums: qFinishAVX512 (int32 sums, the scale and
// zero point of qFinish) and finishAVX512 (float32 sums, finishTile's);
// the same float32 operations in the same order as those Go loops.
func finishKernels() {
	for _, q := range []bool{true, false} {
		name, sig := "finishAVX512", "func(mr int, s *float32, c *float32, ldc int, bias *float32, acc int)"
		if q {
			name, sig = "qFinishAVX512", "func(mr int, s *int32, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)"
		}
		TEXT(name, NOSPLIT, sig)
		Doc(fmt.Sprintf("%s is the epilogue of one AMX panel (see amx.go).", name))
		z := func(i int) reg.VecPhysical { return reg.VecPhysical(zmm[i]) }
		n, sp, cp, ldc, bias, acc := reg.RCX, reg.RSI, reg.RDI, reg.RDX, reg.RBX, reg.R8
		var asp, azp, lds reg.Register
		Load(Param("mr"), n)
		Load(Param("s"), sp)
		Load(Param("c"), cp)
		Load(Param("ldc"), ldc)
		SHLQ(U8(2), ldc)
		Load(Param("bias"), bias)
		Load(Param("acc"), acc)
		var wsp reg.Register
		if q {
			var wsum reg.Register
			asp, azp, lds, wsp, wsum = loadQScales()
			VMOVDQU32(Mem{Base: wsum}, z(28))
		}
		TESTQ(bias, bias)
		JE(LabelRef(name + "_row"))
		VMOVUPS(Mem{Base: bias}, z(30))
		Label(name + "_row")
		if q {
			VMOVDQU32(Mem{Base: sp}, z(0))
			qScaleRow([]reg.VecPhysical{z(0)}, []reg.VecPhysical{z(28)}, wsp, 16, azp, asp, z(1), z(2))
			ADDQ(lds, asp)
			ADDQ(lds, azp)
		} else {
			VMOVUPS(Mem{Base: sp}, z(0))
		}
		TESTQ(acc, acc)
		JE(LabelRef(name + "_bias"))
		VADDPS(Mem{Base: cp}, z(0), z(0))
		Label(name + "_bias")
		TESTQ(bias, bias)
		JE(LabelRef(name + "_store"))
		VADDPS(z(30), z(0), z(0))
		Label(name + "_store")
		VMOVUPS(z(0), Mem{Base: cp})
		ADDQ(U8(64), sp)
		ADDQ(ldc, cp)
		DECQ(n)
		JNZ(LabelRef(name + "_row"))
		VZEROUPPER()
		RET()
	}
}
