//go:build amd64 && !purego

package tensor

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
	"unsafe"
)

// The kernels this CPU cannot run (AVX512_VNNI, AVX-VNNI, AVX512_BF16,
// AMX) run here on Bochs' CPU emulator, through tools/emu/bochs_call.py,
// when GOCLIP_BOCHS_PYTHON names a Python with `bochscpu-python` installed
// (.ci/run installs it). Each call's code bytes come from an unstripped
// build of this package's tests; its buffers are this process's, mapped at
// their own addresses, and what the kernel writes is copied back.

// emuRegion is memory an emulated call reads; with out, it also writes it
// and the bytes are copied back after the call.
type emuRegion struct {
	p   unsafe.Pointer
	n   int
	out bool
}

// emuCall is one call of the ABI0 function fn (its name in this package)
// with the given argument words, or of a Go function (emuGoCall).
type emuCall struct {
	fn      string
	data    []string // the read-only data symbols fn reads (DATA … <>(SB))
	needs   []string // CPUID features, as bochs_call.py names them
	args    []uintptr
	regions []emuRegion
	// A Go (ABIInternal) function: its first arguments in registers, the
	// whole text section mapped once for all calls (it calls other
	// functions).
	goFunc bool
	regs   map[string]uint64
	fsBase uintptr
}

// emuGoCall is a call of the Go function fn of this package (ABIInternal:
// the first nine integer arguments in registers, the rest on the stack,
// then spill space for the nine) with a dummy goroutine whose stack guard
// is 0, in R14 and at FS:-8, where Go reloads it from after calling
// assembly.
func emuGoCall(fn string, needs []string, args []uintptr, regions []emuRegion) emuCall {
	g := make([]uint64, 8)   // runtime.g's first words: stack, stackguard0 = 0
	tls := make([]uint64, 2) // FS points at tls[1]: FS:-8 is tls[0]
	tls[0] = uint64(ptr(g))
	c := emuCall{fn: fn, needs: needs, goFunc: true, fsBase: uintptr(unsafe.Pointer(&tls[1])),
		regs:    map[string]uint64{"r14": uint64(ptr(g))},
		regions: append(regions, region(g, false), region(tls, false))}
	for i, name := range []string{"rax", "rbx", "rcx", "rdi", "rsi", "r8", "r9", "r10", "r11"} {
		if i < len(args) {
			c.regs[name] = uint64(args[i])
		}
	}
	if len(args) > 9 {
		c.args = append(c.args, args[9:]...)
	}
	c.args = append(c.args, make([]uintptr, 9)...) // spill space
	return c
}

// emuCase is one emulated call and the check of what it wrote.
type emuCase struct {
	call  emuCall
	check func(t *testing.T)
}

// checkEmulated runs the calls of cases on the emulator, then each check as
// a subtest; the calls the emulated CPU cannot run (a feature it lacks) are
// reported as one skipped subtest. It returns the functions that ran and
// passed every check.
func checkEmulated(t *testing.T, cases []emuCase) (passed map[string]bool) {
	t.Helper()
	calls := make([]emuCall, len(cases))
	for i, c := range cases {
		calls[i] = c.call
	}
	skipped := runEmulated(t, calls)
	passed, failed, notRun := map[string]bool{}, map[string]bool{}, map[string]int{}
	for i, c := range cases {
		fn := c.call.fn
		if skipped[i] != "" {
			notRun[fn+": "+skipped[i]]++
			continue
		}
		if t.Run(fmt.Sprintf("%d-%s", i, fn), c.check) && !failed[fn] {
			passed[fn] = true
		} else {
			failed[fn], passed[fn] = true, false
		}
	}
	if len(notRun) > 0 {
		t.Run("not-run", func(t *testing.T) { t.Skipf("calls not run (count by function): %v", notRun) })
	}
	for fn, ok := range passed {
		if !ok {
			delete(passed, fn)
		}
	}
	return passed
}

func region[T any](s []T, out bool) emuRegion {
	return emuRegion{unsafe.Pointer(unsafe.SliceData(s)), len(s) * int(unsafe.Sizeof(s[0])), out}
}

func ptr[T any](s []T) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(s))) }

func ptrOf[T any](p *T) uintptr { return uintptr(unsafe.Pointer(p)) }

// unstrippedTestBinary builds this package's test binary with its symbol
// table (go test strips the one it runs) into a temporary directory of t:
// the same code, at the addresses a test can read from its ELF symbols.
func unstrippedTestBinary(t *testing.T) string {
	t.Helper()
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build an unstripped test binary")
	}
	exe := filepath.Join(t.TempDir(), "tensor.test")
	if out, err := exec.Command(gotool, "test", "-c", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	return exe
}

// runEmulated runs calls on the emulator and copies their out regions
// back; it skips t when GOCLIP_BOCHS_PYTHON is not set. skipped[i] says
// why call i did not run (the emulated CPU lacks a feature it needs).
func runEmulated(t *testing.T, calls []emuCall) (skipped []string) {
	t.Helper()
	py := os.Getenv("GOCLIP_BOCHS_PYTHON")
	if py == "" {
		t.Skip("GOCLIP_BOCHS_PYTHON is not set: the kernels were not run on the emulator (see tools/emu/bochs_call.py)")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "request.json"), filepath.Join(dir, "response.json")
	if err := os.WriteFile(in, emuRequest(t, calls), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join("..", "tools", "emu", "bochs_call.py"), in, out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bochs_call.py: %v\n%s", err, stderr.Bytes())
	}
	var resp struct {
		CPUID map[string]bool `json:"cpuid"`
		Calls []struct {
			OK      bool     `json:"ok"`
			Error   string   `json:"error"`
			Skipped string   `json:"skipped"`
			Outs    []string `json:"outs"`
		} `json:"calls"`
	}
	b, err := os.ReadFile(out)
	if err == nil {
		err = json.Unmarshal(b, &resp)
	}
	if err != nil || len(resp.Calls) != len(calls) {
		t.Fatalf("bochs_call.py response: %v (%d calls for %d)", err, len(resp.Calls), len(calls))
	}
	t.Logf("emulated CPU (Bochs, Sapphire Rapids model): %v", resp.CPUID)
	skipped = make([]string, len(calls))
	for i, c := range calls {
		r := resp.Calls[i]
		if r.Skipped != "" {
			skipped[i] = r.Skipped
			continue
		}
		if !r.OK {
			t.Fatalf("%s on the emulator: %s", c.fn, r.Error)
		}
		k := 0
		for _, reg := range c.regions {
			if !reg.out || reg.n == 0 {
				continue
			}
			data, err := base64.StdEncoding.DecodeString(r.Outs[k])
			if err != nil || len(data) != reg.n {
				t.Fatalf("%s: out region %d: %d bytes (%v), want %d", c.fn, k, len(data), err, reg.n)
			}
			copy(unsafe.Slice((*byte)(reg.p), reg.n), data)
			k++
		}
	}
	return skipped
}

// emuRequest is the JSON request of calls for bochs_call.py: per call the
// entry address, argument words and the regions to map (code, data
// symbols, then the call's own regions).
func emuRequest(t *testing.T, calls []emuCall) []byte {
	t.Helper()
	code := functionCode(t, unstrippedTestBinary(t))
	type jregion struct {
		Addr uint64 `json:"addr"`
		Data string `json:"data"`
		Out  bool   `json:"out"`
	}
	type jcall struct {
		Name    string            `json:"name"`
		Needs   []string          `json:"needs"`
		Entry   uint64            `json:"entry"`
		Args    []uint64          `json:"args"`
		Regions []jregion         `json:"regions"`
		Regs    map[string]uint64 `json:"regs,omitempty"`
		FSBase  uint64            `json:"fs_base,omitempty"`
	}
	symbol := func(name string) jregion {
		s, ok := code[name]
		if !ok {
			t.Fatalf("no symbol %s in the test binary", name)
		}
		return jregion{Addr: s.addr, Data: base64.StdEncoding.EncodeToString(s.code)}
	}
	var req struct {
		Shared []jregion `json:"shared,omitempty"` // written once, before the calls
		Calls  []jcall   `json:"calls"`
	}
	for _, c := range calls {
		var j jcall
		if c.goFunc {
			j = jcall{Name: c.fn, Needs: c.needs, Entry: symbol("go:" + c.fn).Addr, Regs: c.regs, FSBase: uint64(c.fsBase)}
			if req.Shared == nil {
				req.Shared = []jregion{symbol(".text")}
			}
		} else {
			fn := symbol(c.fn)
			j = jcall{Name: c.fn, Needs: c.needs, Entry: fn.Addr, Regions: []jregion{fn}}
		}
		for _, name := range c.data {
			j.Regions = append(j.Regions, symbol(name))
		}
		for _, a := range c.args {
			j.Args = append(j.Args, uint64(a))
		}
		for _, r := range c.regions {
			if r.n > 0 {
				j.Regions = append(j.Regions, jregion{uint64(uintptr(r.p)), base64.StdEncoding.EncodeToString(unsafe.Slice((*byte)(r.p), r.n)), r.out})
			}
		}
		req.Calls = append(req.Calls, j)
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type funcCode struct {
	addr uint64
	code []byte
}

// functionCode reads the ABI0 functions of this package (by their names in
// it) and the static data of its assembly (DATA name<>, named "name") from
// exe.
func functionCode(t *testing.T, exe string) map[string]funcCode {
	t.Helper()
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	const prefix, suffix = "github.com/goclip/goclip/tensor.", ".abi0"
	m := map[string]funcCode{}
	if text := f.Section(".text"); text != nil {
		code, err := text.Data()
		if err != nil {
			t.Fatal(err)
		}
		m[".text"] = funcCode{text.Addr, code}
	}
	for _, s := range syms {
		name, ok := cutAffixes(s.Name, prefix, suffix)
		if g, isGo := cutAffixes(s.Name, prefix, ""); !ok && isGo && elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			name, ok = "go:"+g, true
		}
		if !ok && elf.ST_BIND(s.Info) == elf.STB_LOCAL && elf.ST_TYPE(s.Info) == elf.STT_OBJECT {
			name, ok = s.Name, true
		}
		if !ok || s.Size == 0 || int(s.Section) >= len(f.Sections) {
			continue
		}
		sec := f.Sections[s.Section]
		if sec.Type != elf.SHT_PROGBITS || s.Value < sec.Addr || s.Value+s.Size > sec.Addr+sec.Size {
			continue
		}
		code := make([]byte, s.Size)
		if _, err := sec.ReadAt(code, int64(s.Value-sec.Addr)); err != nil {
			t.Fatal(err)
		}
		m[name] = funcCode{s.Value, code}
	}
	return m
}

func cutAffixes(s, prefix, suffix string) (string, bool) {
	if len(s) < len(prefix)+len(suffix) || s[:len(prefix)] != prefix || s[len(s)-len(suffix):] != suffix {
		return "", false
	}
	return s[len(prefix) : len(s)-len(suffix)], true
}
