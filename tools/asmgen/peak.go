package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genPeak emits register-only FMA loops that measure the FMA throughput
// of one core: 24 independent accumulator chains (enough to cover FMA
// latency × 2 pipes), no memory traffic.
func genPeak() {
	for _, v := range []struct {
		name string
		regs []reg.VecPhysical
	}{{"peakFMAAVX512", zmm}, {"peakFMAAVX2", ymm}} {
		TEXT(v.name, NOSPLIT, "func(n int)")
		chains := 24
		if len(v.regs) == 16 {
			chains = 14
		}
		Doc(fmt.Sprintf("%s runs n iterations of %d independent FMAs.", v.name, chains))
		n := reg.RCX
		Load(Param("n"), n)
		a, b := v.regs[len(v.regs)-2], v.regs[len(v.regs)-1]
		VXORPS(a, a, a)
		VXORPS(b, b, b)
		for i := 0; i < chains; i++ {
			VXORPS(v.regs[i], v.regs[i], v.regs[i])
		}
		TESTQ(n, n)
		JE(LabelRef(v.name + "_done"))
		Label(v.name + "_loop")
		for i := 0; i < chains; i++ {
			VFMADD231PS(a, b, v.regs[i])
		}
		DECQ(n)
		JNZ(LabelRef(v.name + "_loop"))
		Label(v.name + "_done")
		VZEROUPPER()
		RET()
	}
}

// genPeakInt8 emits register-only loops of the two AVX2 int8 dot-product
// idioms, 12 independent accumulators each: peakMaddAVX2 is the exact one
// of the qgemm kernels (VPMADDWD on int16 operands, then VPADDD: 16
// multiply-adds per pair), peakMaddubsAVX2 the one of ONNX Runtime's AVX2
// u8×s8 kernels (VPMADDUBSW, whose int16 pair sums saturate, VPMADDWD by
// ones, VPADDD: 32 multiply-adds per triple).
func genPeakInt8() {
	y := func(i int) reg.VecPhysical { return reg.VecPhysical(ymm[i]) }
	for _, ubs := range []bool{false, true} {
		name := "peakMaddAVX2"
		if ubs {
			name = "peakMaddubsAVX2"
		}
		TEXT(name, NOSPLIT, "func(n int)")
		Doc(fmt.Sprintf("%s runs n iterations of 12 independent int8 dot-product steps (see genPeakInt8).", name))
		n := reg.RCX
		Load(Param("n"), n)
		for i := 0; i < 16; i++ {
			VPXOR(y(i), y(i), y(i))
		}
		TESTQ(n, n)
		JE(LabelRef(name + "_done"))
		Label(name + "_loop")
		for i := 0; i < 12; i++ {
			if ubs {
				VPMADDUBSW(y(12), y(14), y(15))
				VPMADDWD(y(13), y(15), y(15))
			} else {
				VPMADDWD(y(12), y(14), y(15))
			}
			VPADDD(y(15), y(i), y(i))
		}
		DECQ(n)
		JNZ(LabelRef(name + "_loop"))
		Label(name + "_done")
		VZEROUPPER()
		RET()
	}
}
