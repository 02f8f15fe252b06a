// Command asmgen generates the amd64 assembly kernels of package tensor with
// avo. It is a nested module so that avo never becomes a dependency of goclip.
//
// Regenerate (from the repository root, or `go generate ./tensor/`):
//
//	cd tools/asmgen && go run . -kernel sgemm -out ../../tensor/sgemm_amd64.s
//	cd tools/asmgen && go run . -kernel act -out ../../tensor/act_amd64.s
//	cd tools/asmgen && go run . -kernel peak -out ../../tensor/peak_amd64.s
//	cd tools/asmgen && go run . -kernel bgemm -out ../../tensor/bgemm_amd64.s
//	cd tools/asmgen && go run . -kernel qgemm -out ../../tensor/qgemm_amd64.s
//	cd tools/asmgen && go run . -kernel quant -out ../../tensor/quant_amd64.s
//	cd tools/asmgen && go run . -kernel vnni -out ../../tensor/lowp512_amd64.s
//
// Kernels:
//
//   - sgemm: register-blocked micro-kernels C[mr,nr] (+)= A[mr,k]·Bp[k,nr]
//     (+ bias) where A is row-major with stride lda and Bp is a packed panel
//     (nr consecutive floats per k). AVX-512: nr = 32 (two zmm per row), mr =
//     1…10, 20 accumulators. AVX2+FMA: nr = 16 (two ymm), mr = 1…6, 12
//     accumulators.
//   - act: vectorised exp, QuickGELU and exact-erf GELU over n floats
//     (n a multiple of the vector width), for zmm and ymm.
//   - bgemm: the AVX2 tile with bf16 weights widened to float32 in registers.
//   - qgemm: the AVX2 tile for int8 weights and u8 activations (int16
//     multiplies, exact int32 sums), scaled to float32 in the epilogue.
//   - quant: min/max and u8 rounding of the int8 products' activations.
//   - vnni: the int8 and bf16 tiles for AVX512_VNNI, AVX-VNNI and
//     AVX512_BF16 (see vnni.go; some instructions as bytes).
//   - peak: register-only FMA loops for measuring the FMA peak of a core.
package main

import (
	"flag"
	"fmt"
	"log"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

var kernel = flag.String("kernel", "", "which kernel file to generate: sgemm, act, peak, bgemm, qgemm, quant or vnni")

func main() {
	flag.Parse()
	ConstraintExpr("!purego")
	switch *kernel {
	case "sgemm":
		for mr := 1; mr <= 10; mr++ {
			sgemmAVX512(mr)
		}
		for mr := 1; mr <= 6; mr++ {
			sgemmAVX2(mr)
		}
	case "act":
		genAct()
	case "peak":
		genPeak()
		genPeakInt8()
	case "bgemm":
		genBgemm()
	case "qgemm":
		genQgemm()
	case "quant":
		genQuant()
	case "vnni":
		genVNNI(flag.Lookup("out").Value.String())
	default:
		log.Fatalf("unknown -kernel %q (want sgemm, act, peak, bgemm, qgemm, quant or vnni)", *kernel)
	}
	Generate()
	if *kernel == "vnni" {
		fixInclude(flag.Lookup("out").Value.String())
	}
}

// rowMem addresses row r of a matrix whose rows are split over base
// registers holding rows 0, 3, 6, 9 and an index register holding the row
// stride in bytes: row r is base[r/3] + (r%3)·stride.
func rowMem(bases []reg.Register, stride reg.Register, r, disp int) Mem {
	m := Mem{Base: bases[r/3], Disp: disp}
	if r%3 != 0 {
		m.Index = stride
		m.Scale = uint8(r % 3)
	}
	return m
}

// setupBases fills bases[1..] with base[0] + 3i·stride (bytes) for the rows
// a kernel of mr rows needs.
func setupBases(bases []reg.Register, stride reg.Register, mr int) {
	for i := 1; i*3 < mr; i++ {
		LEAQ(Mem{Base: bases[i-1], Index: stride, Scale: 2}, bases[i])
		ADDQ(stride, bases[i])
	}
}

const sgemmSig = "func(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, acc int)"

// sgemmKernel emits one micro-kernel. vec is the register type width in
// floats (16 for zmm, 8 for ymm); accs[r][j] is the accumulator of row r,
// vector j; bregs hold the two B vectors; tmps the broadcast registers
// (cycled).
func sgemmKernel(name string, mr, vec int, accs [][2]reg.VecPhysical, bregs [2]reg.VecPhysical, tmps []reg.VecPhysical) {
	nr := 2 * vec
	TEXT(name, NOSPLIT, sgemmSig)
	Doc(fmt.Sprintf("%s computes C[%d,%d] = A[%d,k]·Bp[k,%d] (+C if acc≠0) (+bias if non-nil).", name, mr, nr, mr, nr))
	bases := []reg.Register{reg.RAX, reg.RBX, reg.RSI, reg.RDI}
	k, stride, bp := reg.RCX, reg.RDX, reg.R8
	Load(Param("k"), k)
	Load(Param("a"), bases[0])
	Load(Param("lda"), stride)
	SHLQ(U8(2), stride)
	Load(Param("b"), bp)
	setupBases(bases, stride, mr)
	for r := 0; r < mr; r++ {
		for j := 0; j < 2; j++ {
			VXORPS(accs[r][j], accs[r][j], accs[r][j])
		}
	}
	nb := (mr + 2) / 3 // base registers in use
	step := func(u int, t *int) {
		VMOVUPS(Mem{Base: bp, Disp: u * nr * 4}, bregs[0])
		VMOVUPS(Mem{Base: bp, Disp: u*nr*4 + vec*4}, bregs[1])
		for r := 0; r < mr; r++ {
			tmp := tmps[*t%len(tmps)]
			*t++
			VBROADCASTSS(rowMem(bases, stride, r, 4*u), tmp)
			VFMADD231PS(tmp, bregs[0], accs[r][0])
			VFMADD231PS(tmp, bregs[1], accs[r][1])
		}
	}
	const unroll = 4
	t := 0
	CMPQ(k, U8(unroll))
	JL(LabelRef(name + "_tail"))
	Label(name + "_loop4")
	for u := 0; u < unroll; u++ {
		step(u, &t)
	}
	for i := 0; i < nb; i++ {
		ADDQ(U8(4*unroll), bases[i])
	}
	ADDQ(U32(unroll*nr*4), bp)
	SUBQ(U8(unroll), k)
	CMPQ(k, U8(unroll))
	JGE(LabelRef(name + "_loop4"))
	Label(name + "_tail")
	TESTQ(k, k)
	JE(LabelRef(name + "_store"))
	Label(name + "_loop1")
	step(0, &t)
	for i := 0; i < nb; i++ {
		ADDQ(U8(4), bases[i])
	}
	ADDQ(U32(nr*4), bp)
	DECQ(k)
	JNZ(LabelRef(name + "_loop1"))

	Label(name + "_store")
	Load(Param("c"), bases[0])
	Load(Param("ldc"), stride)
	SHLQ(U8(2), stride)
	setupBases(bases, stride, mr)
	Load(Param("acc"), k)
	TESTQ(k, k)
	JE(LabelRef(name + "_bias"))
	for r := 0; r < mr; r++ {
		for j := 0; j < 2; j++ {
			VADDPS(rowMem(bases, stride, r, j*vec*4), accs[r][j], accs[r][j])
		}
	}
	Label(name + "_bias")
	Load(Param("bias"), bp)
	TESTQ(bp, bp)
	JE(LabelRef(name + "_out"))
	VMOVUPS(Mem{Base: bp}, bregs[0])
	VMOVUPS(Mem{Base: bp, Disp: vec * 4}, bregs[1])
	for r := 0; r < mr; r++ {
		for j := 0; j < 2; j++ {
			VADDPS(bregs[j], accs[r][j], accs[r][j])
		}
	}
	Label(name + "_out")
	for r := 0; r < mr; r++ {
		for j := 0; j < 2; j++ {
			VMOVUPS(accs[r][j], rowMem(bases, stride, r, j*vec*4))
		}
	}
	VZEROUPPER()
	RET()
}

func sgemmAVX512(mr int) {
	z := func(i int) reg.VecPhysical { return reg.VecPhysical(zmm[i]) }
	accs := make([][2]reg.VecPhysical, mr)
	for r := range accs {
		accs[r] = [2]reg.VecPhysical{z(2 * r), z(2*r + 1)}
	}
	var tmps []reg.VecPhysical
	for i := 20; i < 30; i++ {
		tmps = append(tmps, z(i))
	}
	sgemmKernel(fmt.Sprintf("sgemmAVX512x%d", mr), mr, 16, accs, [2]reg.VecPhysical{z(30), z(31)}, tmps)
}

func sgemmAVX2(mr int) {
	y := func(i int) reg.VecPhysical { return reg.VecPhysical(ymm[i]) }
	accs := make([][2]reg.VecPhysical, mr)
	for r := range accs {
		accs[r] = [2]reg.VecPhysical{y(2 * r), y(2*r + 1)}
	}
	sgemmKernel(fmt.Sprintf("sgemmAVX2x%d", mr), mr, 8, accs, [2]reg.VecPhysical{y(12), y(13)}, []reg.VecPhysical{y(14), y(15)})
}

var zmm = []reg.VecPhysical{
	reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
	reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
	reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
	reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31,
}

var ymm = []reg.VecPhysical{
	reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7,
	reg.Y8, reg.Y9, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15,
}
