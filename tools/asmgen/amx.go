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
// One call computes C[mr, 16] (int32 sums, or float32 for bf16) for one
// panel of 16 columns into a 16×16 buffer, from mr ≤ 16 rows of
// activations and the panel in the dot-product layouts of vnni.go, which
// are already AMX's B-tile layout: one 64-byte tile row per quad of u8
// inputs (16 columns × 4 bytes) or per pair of bf16 inputs (16 × 2 × 2
// bytes). The tiles, configured by the caller (amxConfig):
//
//	tmm0: A, mr rows × 64 bytes (16 quads/pairs of each row)
//	tmm1: B, 16 rows × 64 bytes (the panel's next 16 quads/pairs)
//	tmm2, tmm3: A and B of the remaining tail < 16 quads/pairs
//	tmm4: C, mr rows × 16 dwords
//
// The tile state is loaded, used and released inside the one call, so a
// goroutine never leaves it live across a preemption point.

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
// int (bytes), b *byte, c *[16][16]int32 or float32, steps, tail int):
// steps whole tiles of 16 quads/pairs, then one tail tile when tail ≠ 0.
func amxKernel(name, op string) {
	TEXT(name, NOSPLIT, "func(cfg *[64]byte, a *byte, lda int, b *byte, c *byte, steps, tail int)")
	Doc(fmt.Sprintf("%s computes one 16-column panel of C[mr,16] with AMX tiles (%s; see amx.go).", name, op))
	cfg, a, lda, b, c, n, tail := reg.RAX, reg.RSI, reg.RDX, reg.RBX, reg.RDI, reg.RCX, reg.R10
	Load(Param("cfg"), cfg)
	ldtilecfg(cfg)
	Load(Param("a"), a)
	Load(Param("lda"), lda)
	Load(Param("b"), b)
	Load(Param("c"), c)
	Load(Param("steps"), n)
	Load(Param("tail"), tail)
	MOVQ(U32(64), cfg) // the row stride of B and C tiles, in bytes
	tilezero(4)
	TESTQ(n, n)
	JE(LabelRef(name + "_tail"))
	Label(name + "_loop")
	tileloadd(a, lda, 0)
	tileloadd(b, cfg, 1)
	tdp(op, 1, 0, 4)
	ADDQ(U32(64), a)
	ADDQ(U32(1024), b)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_tail")
	TESTQ(tail, tail)
	JE(LabelRef(name + "_store"))
	tileloadd(a, lda, 2)
	tileloadd(b, cfg, 3)
	tdp(op, 3, 2, 4)
	Label(name + "_store")
	tilestored(4, c, cfg)
	tilerelease()
	RET()
}
