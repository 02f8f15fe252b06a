//go:build amd64 && !purego

package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestLowpDispatch: the dot-product kernels are chosen only when CPUID
// reports their instructions, so they never run on a CPU without them.
func TestLowpDispatch(t *testing.T) {
	t.Logf("this CPU: AVX2 %v, AVX512 F+DQ %v, AVX512_VNNI %v, AVX-VNNI %v, AVX512_BF16 %v, AMX-INT8 %v, AMX-BF16 %v; kernels: %s",
		hasAVX2, hasAVX512, hasVNNI512, hasAVXVNNI, hasAVX512BF16, hasAMXInt8, hasAMXBF16, Kernels())
	for _, p := range []Precision{BF16, Int8} {
		has := map[Precision]bool{Int8: hasAMXInt8, BF16: hasAMXBF16}[p]
		if k := pickLowp(p); k == kAMX && !has {
			t.Errorf("%v picks %s without its instructions", p, k.name(p))
		}
		for _, k := range availableLowp(p) {
			if k == kAMX && !has {
				t.Errorf("%v: %s listed as runnable", p, k.name(p))
			}
		}
	}
	if k := pickLowp(Int8); (k == kAVX512 && !hasVNNI512) || (k == kAVXVNNI && !hasAVXVNNI) {
		t.Errorf("int8 picks %s without its instructions", k.name(Int8))
	}
	if k := pickLowp(BF16); k == kAVX512 && !hasAVX512BF16 {
		t.Errorf("bf16 picks %s without AVX512_BF16", k.name(BF16))
	}
	for _, p := range []Precision{BF16, Int8} {
		for _, k := range availableLowp(p) {
			if k == kAVX512 && !(hasVNNI512 || hasAVX512BF16) || k == kAVXVNNI && !hasAVXVNNI {
				t.Errorf("%v: %s listed as runnable", p, k.name(p))
			}
		}
	}
}

// TestQ8TileExact checks the int8 tiles of the dot-product layout (the Go
// reference everywhere; the VNNI and AMX kernels where the CPU has them)
// against the reference formula, to the bit, for one panel and for three
// adjacent ones (kernels that take several per call).
func TestQ8TileExact(t *testing.T) {
	ran := false
	forEachLowp(t, Int8, true, func(t *testing.T, s lowpKernel) {
		ran = ran || s != kGoVNNI
		r := rand.New(rand.NewPCG(17, 18))
		for mr := 1; mr <= s.mr(); mr++ {
			// 16 quads and more: whole AMX tiles, with and without a tail.
			for _, kq := range []int{0, 1, 2, 3, 4, 5, 9, 16, 17, 35} {
				for _, np := range []int{1, 3} {
					if np <= s.panels() {
						checkQ8Tile(t, r, s, mr, kq, np)
					}
				}
			}
		}
	})
	if !ran {
		t.Logf("no AVX512_VNNI, AVX-VNNI or AMX-INT8 on this CPU: qgemmVNNI512, qgemmAVXVNNI and amxInt8 were not executed here (TestLowpEmulated runs them on an emulator)")
	}
}

// q8TileInputs are the random inputs of one q8tile call of mr rows, kq
// quads and np panels (pstride bytes apart, further than they need be;
// output rows ldc apart, cols wide).
type q8TileInputs struct {
	a                      []uint8
	b                      []int8
	as, ws, bias           []float32
	az, wsum               []int32
	lda, lds, ldc, pstride int
	cols                   int
}

func newQ8TileInputs(r *rand.Rand, mr, kq, np int) q8TileInputs {
	in := q8TileInputs{lda: 4*48 + 4, lds: 3, ldc: lowpNR*np + 5, pstride: 64 * (kq + 1), cols: lowpNR * np}
	in.a = make([]uint8, mr*in.lda)
	for i := range in.a {
		in.a[i] = uint8(r.IntN(256))
	}
	in.b = make([]int8, in.pstride*np)
	for i := range in.b {
		in.b[i] = int8(r.IntN(255) - 127)
	}
	in.as, in.az, in.ws, in.wsum = randQScales(r, mr*in.lds, in.cols)
	in.bias = randSlice(r, in.cols)
	return in
}

// checkQ8Tile runs one q8tile call of mr rows, kq quads and np panels
// (further apart than they need be) and checks every output.
func checkQ8Tile(t *testing.T, r *rand.Rand, s lowpKernel, mr, kq, np int) {
	t.Helper()
	in := newQ8TileInputs(r, mr, kq, np)
	a, lda, b, pstride, ldc, cols := in.a, in.lda, in.b, in.pstride, in.ldc, in.cols
	as, az, lds, ws, wsum, bias := in.as, in.az, in.lds, in.ws, in.wsum, in.bias
	cbuf, check := guarded(t, (mr-1)*ldc+cols)
	c0 := randSlice(r, len(cbuf))
	copy(cbuf, c0)
	q8tile(s, mr, kq, np, &a[0], lda, &b[0], pstride, &cbuf[0], ldc, &as[0], &az[0], lds, &ws[0], &wsum[0], &bias[0], 1)
	check()
	for i := 0; i < mr; i++ {
		for j := 0; j < cols; j++ {
			sum := int32(0)
			for p := 0; p < 4*kq; p++ {
				sum += int32(a[i*lda+p]) * int32(b[j/lowpNR*pstride+(p/4)*64+4*(j%lowpNR)+p%4])
			}
			sum -= az[i*lds] * wsum[j]
			v := c0[i*ldc+j] + float32(float32(float32(sum)*ws[j])*as[i*lds])
			v += bias[j]
			if got := cbuf[i*ldc+j]; math.Float32bits(got) != math.Float32bits(v) {
				t.Fatalf("mr=%d kq=%d np=%d: c[%d,%d] = %g, want %g", mr, kq, np, i, j, got, v)
			}
		}
	}
}

// TestB2Tile checks the bf16 tiles of the dot-product layout against a
// float64 product of the bf16 operands, for one panel and for three.
func TestB2Tile(t *testing.T) {
	ran := false
	forEachLowp(t, BF16, true, func(t *testing.T, s lowpKernel) {
		ran = ran || s != kGoVNNI
		r := rand.New(rand.NewPCG(19, 20))
		for mr := 1; mr <= s.mr(); mr++ {
			for _, kp := range []int{0, 1, 2, 3, 4, 5, 9, 16, 17, 35} {
				for _, np := range []int{1, 3} {
					if np <= s.panels() {
						checkB2Tile(t, r, s, mr, kp, np)
					}
				}
			}
		}
	})
	if !ran {
		t.Logf("no AVX512_BF16 or AMX-BF16 on this CPU: bgemmAVX512BF16 and amxBF16 were not executed here (TestLowpEmulated runs them on an emulator)")
	}
}

// randBF16 is n random bf16 values in [-1, 1).
func randBF16(r *rand.Rand, n int) []uint16 {
	v := make([]uint16, n)
	for i := range v {
		v[i] = bf16(float32(r.Float64()*2 - 1))
	}
	return v
}

// checkB2Tile runs one b2tile call of mr rows, kp pairs and np panels and
// checks every output within the float32 summation bound.
func checkB2Tile(t *testing.T, r *rand.Rand, s lowpKernel, mr, kp, np int) {
	t.Helper()
	const lda = 2*35 + 2
	ldc, pstride, cols := lowpNR*np+3, 32*(kp+1), lowpNR*np
	a := randBF16(r, mr*lda)
	b := randBF16(r, pstride*np)
	cbuf, check := guarded(t, (mr-1)*ldc+cols)
	b2tile(s, mr, kp, np, &a[0], lda, &b[0], pstride, &cbuf[0], ldc, nil, 0)
	check()
	for i := 0; i < mr; i++ {
		for j := 0; j < cols; j++ {
			var want, mag float64
			for p := 0; p < 2*kp; p++ {
				x := float64(bf16ToF32(a[i*lda+p])) * float64(bf16ToF32(b[j/lowpNR*pstride+(p/2)*32+2*(j%lowpNR)+p%2]))
				want += x
				mag += math.Abs(x)
			}
			if d := math.Abs(float64(cbuf[i*ldc+j]) - want); d > gemmTol(2*kp, mag) {
				t.Fatalf("mr=%d kp=%d np=%d: c[%d,%d] = %g, want %g", mr, kp, np, i, j, cbuf[i*ldc+j], want)
			}
		}
	}
}

// TestLowpEncodings disassembles the dot-product kernels with GNU objdump
// and checks that every byte-encoded macro (lowp512_amd64.h) and every
// VPDPBUSD decodes as the instruction and registers its name says, in
// order. With TestLowpEmulated (which runs all but the AMX ones on an
// emulator) it is the check of those kernels on a CPU that cannot run them.
func TestLowpEncodings(t *testing.T) {
	objdump, err := exec.LookPath("objdump")
	if err != nil {
		t.Skip("GNU objdump (binutils) not installed: the byte encodings are not checked")
	}
	exe := unstrippedTestBinary(t)
	src, err := os.ReadFile("lowp512_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	// Expected instructions per function, from the macro names in the
	// source (Go operand order, which is objdump's AT&T order).
	want := map[string][]string{}
	var fn string
	text := regexp.MustCompile(`^TEXT ·(\w+)\(SB\)`)
	for _, line := range strings.Split(string(src), "\n") {
		if m := text.FindStringSubmatch(line); m != nil {
			fn = m[1]
		} else if ins, ok := expectedInstr(strings.TrimSpace(line)); ok {
			want[fn] = append(want[fn], ins)
		}
	}
	if len(want) != 24 {
		t.Fatalf("found byte-encoded or dot-product instructions in %d functions of lowp512_amd64.s, want 24", len(want))
	}
	decoded := regexp.MustCompile(`\t(?:\{(?:vex|evex)\} )?(vpdpbusd|vdpbf16ps|tdpbusd|tdpbf16ps|tileloadd|tilestored|tilezero|ldtilecfg|tilerelease) *(\S*)`)
	for name, instrs := range want {
		out, err := exec.Command(objdump, "-d", "--no-show-raw-insn", "--disassemble=github.com/goclip/goclip/tensor."+name+".abi0", exe).Output()
		if err != nil {
			t.Fatalf("objdump %s: %v", name, err)
		}
		var got []string
		for _, m := range decoded.FindAllStringSubmatch(string(out), -1) {
			got = append(got, m[1]+" "+m[2])
		}
		if strings.Join(got, "\n") != strings.Join(instrs, "\n") {
			t.Fatalf("%s disassembles to\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(instrs, "\n"))
		}
		if strings.Contains(string(out), "(bad)") {
			t.Fatalf("%s: objdump found undecodable bytes:\n%s", name, out)
		}
	}
	t.Logf("%d functions: every byte-encoded VPDPBUSD (VEX), VDPBF16PS and AMX instruction, and every VPDPBUSD (EVEX), decode as named", len(want))
}

// expectedInstr is what objdump should print for one line of
// lowp512_amd64.s that holds a dot-product instruction or a macro (empty
// operands printed without a space): "vpdpbusd %ymm12,%ymm14,%ymm2",
// "tileloadd (%rsi,%rdx,1),%tmm0", …; ok is false for other lines.
func expectedInstr(line string) (string, bool) {
	vec := func(r string) string {
		return "%" + map[byte]string{'Y': "ymm", 'Z': "zmm", 'T': "tmm"}[r[0]] + strings.TrimLeft(r, "YZTM")
	}
	gpr := func(r string) string { return "%r" + strings.ToLower(r) }
	if m := regexp.MustCompile(`^VPDPBUSD\s+(Z\d+), (Z\d+), (Z\d+)$`).FindStringSubmatch(line); m != nil {
		return fmt.Sprintf("vpdpbusd %s,%s,%s", vec(m[1]), vec(m[2]), vec(m[3])), true
	}
	f := strings.Split(line, "_")
	switch {
	case (f[0] == "VPDPBUSD" || f[0] == "VDPBF16PS") && len(f) >= 4:
		f = f[len(f)-3:]
		return fmt.Sprintf("%s %s,%s,%s", map[bool]string{true: "vpdpbusd", false: "vdpbf16ps"}[strings.HasPrefix(line, "VPDPBUSD")], vec(f[0]), vec(f[1]), vec(f[2])), true
	case (f[0] == "TDPBUSD" || f[0] == "TDPBF16PS") && len(f) == 4:
		return fmt.Sprintf("%s %s,%s,%s", strings.ToLower(f[0]), vec(f[1]), vec(f[2]), vec(f[3])), true
	case f[0] == "TILELOADD" && len(f) == 4:
		return fmt.Sprintf("tileloadd (%s,%s,1),%s", gpr(f[1]), gpr(f[2]), vec(f[3])), true
	case f[0] == "TILESTORED" && len(f) == 4:
		return fmt.Sprintf("tilestored %s,(%s,%s,1)", vec(f[1]), gpr(f[2]), gpr(f[3])), true
	case f[0] == "TILEZERO" && len(f) == 2:
		return "tilezero " + vec(f[1]), true
	case f[0] == "LDTILECFG" && len(f) == 2:
		return fmt.Sprintf("ldtilecfg (%s)", gpr(f[1])), true
	case line == "TILERELEASE":
		return "tilerelease ", true
	}
	return "", false
}
