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
