#!/usr/bin/env python3
"""Run Go assembly functions on an emulated CPU that has the instructions.

    bochs_call.py REQUEST.json RESPONSE.json

goclip's AVX512_VNNI, AVX-VNNI, AVX512_BF16 and AMX kernels cannot run on a
CPU without those instructions. This runs them on Bochs' CPU emulator
(the `bochscpu-python` package from PyPI) so tensor's TestLowpEmulated can compare what they compute with
the Go reference loops, to the bit, on any x86-64 machine.

The request (written by tensor/emu_amd64_test.go) lists calls of ABI0
functions: the entry address, the argument words (ABI0 passes them on the
stack, 8 bytes each) and the memory regions the call reads: the function's
code bytes at the address it was linked at, and the Go buffers its pointer
arguments point to, at the addresses they have in the Go process. Regions
marked "out" are read back after the call. Every page is mapped at its own
virtual address in a fresh 4-level page table, the CPU is put in 64-bit
mode at ring 0 with SSE, AVX, AVX-512 and AMX tile state enabled in XCR0,
and the call returns to a page holding HLT, which ends it. An exception
(#UD for an instruction the model lacks, #GP, a page fault on memory the
request did not declare) ends the call with an error instead.

A call may also be of a Go (ABIInternal) function: it then gives "regs",
the registers holding its first integer arguments and R14 (the goroutine
pointer, a dummy whose stack guard is 0), and "fs_base", the thread block
whose last word before it points at that dummy (Go reloads R14 from FS:-8
after calling assembly); its stack words are the remaining arguments and
the spill space; the whole text section comes once, in the request's
"shared" regions (written before the first call).

A call lists the CPUID features it "needs" (avx512f, avx512_vnni, avx_vnni,
avx512_bf16, amx_tile, amx_int8, amx_bf16); one the emulated CPU lacks is
not run but answered "skipped". bochscpu-python 0.4.0 models Sapphire
Rapids (cpu.model 30, set below) with AVX512_VNNI, AVX-VNNI and
AVX512_BF16, but its Bochs is built without AMX: the AMX calls are skipped.
build_bochscpu_amx.sh (beside this file) builds one with AMX.

The response holds the emulated CPU's features and, per call, "ok",
"error" or "skipped", and the out regions' bytes (base64). Only the standard library and bochscpu are imported; where the
wheel needs glibc's C23 symbols and the system's glibc is older, isoc23.c
(beside this file) is compiled with cc and loaded first.
"""

import base64
import ctypes
import json
import os
import subprocess
import sys
import tempfile


def import_bochscpu():
    try:
        import bochscpu  # noqa: F401
    except ImportError as e:
        if "__isoc23_" not in str(e):
            raise
        here = os.path.dirname(os.path.abspath(__file__))
        with tempfile.TemporaryDirectory(prefix="goclip-emu-") as tmp:
            shim = os.path.join(tmp, "isoc23.so")
            subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", shim, os.path.join(here, "isoc23.c")], check=True)
            ctypes.CDLL(shim, mode=ctypes.RTLD_GLOBAL)  # stays mapped after the file is gone
    import bochscpu.cpu
    import bochscpu.memory
    return bochscpu


bochscpu = import_bochscpu()


PAGE = 4096
STACK_VA = 0x6000_0000_0000  # away from Go's text (0x400000) and heap (0xc000000000)
STACK_PAGES = 16  # Go functions' frames (amxQ8's holds 8 KiB of sums)
STACK_TOP = STACK_VA + STACK_PAGES * PAGE - 256
SENTINEL_VA = 0x6000_0001_0000
CPUID_VA = 0x6000_0002_0000
PML4_GPA = 0x10_0000
RW = 1

# XCR0: x87, SSE, AVX, AVX-512 opmask/ZMM_Hi256/Hi16_ZMM, AMX XTILECFG/XTILEDATA.
XCR0 = 0x1 | 0x2 | 0x4 | 0x20 | 0x40 | 0x80 | (1 << 17) | (1 << 18)
CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_OSXSAVE = 1 << 9, 1 << 10, 1 << 18


class Memory:
    """Guest pages: virtual address -> guest physical, one host page each."""

    def __init__(self):
        self.gpa = {}
        self.next_gpa = 0x100_0000

    def need(self, addr, size):
        for va in range(addr & ~(PAGE - 1), addr + max(size, 1), PAGE):
            if va not in self.gpa:
                hva = bochscpu.memory.allocate_host_page()
                bochscpu.memory.page_insert(self.next_gpa, hva)
                self.gpa[va] = self.next_gpa
                self.next_gpa += PAGE

    def commit(self):
        # The table owns the host pages of its levels: keep it alive.
        self.pt = pt = bochscpu.memory.PageMapLevel4Table()
        for va, gpa in self.gpa.items():
            pt.insert(va, gpa, RW)
        for hva, gpa in pt.commit(PML4_GPA):
            bochscpu.memory.page_insert(gpa, hva)

    def write(self, va, data):
        if data and not bochscpu.memory.virt_write(PML4_GPA, va, bytearray(data)):
            raise RuntimeError(f"cannot write {len(data)} bytes at {va:#x}")

    def read(self, va, size):
        return bytes(bochscpu.memory.virt_read(PML4_GPA, va, size)) if size else b""


def segment(selector, attr):
    s = bochscpu.Segment()
    s.present = True
    s.selector = selector
    s.base = 0
    s.limit = 0xFFFF_FFFF
    s.attr = attr
    return s


def initial_state(rsp, rip, regs=None, fs_base=0):
    state = bochscpu.State()
    bochscpu.cpu.set_long_mode(state)
    state.cr3 = PML4_GPA
    state.cr0 = (state.cr0 | 0x2) & ~0x4  # MP on, EM off: SSE/AVX enabled
    state.cr4 = state.cr4 | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE
    state.xcr0 = XCR0
    state.mxcsr = 0x1F80
    state.rflags = 0x2
    state.rsp = rsp
    state.rip = rip
    state.cs = segment(0x08, 0x229B)  # 64-bit code, ring 0
    data = segment(0x10, 0xC093)  # data, ring 0
    state.ds = state.es = state.gs = state.ss = data
    fs = segment(0x10, 0xC093)
    fs.base = fs_base  # Go reloads g from FS:-8 after calling assembly
    state.fs = fs
    for name, value in (regs or {}).items():
        setattr(state, name, value & (2**64 - 1))
    return state


def run(rsp, rip, regs=None, fs_base=0):
    """Runs from rip until HLT or an exception; returns (state, error)."""
    error = []
    sess = bochscpu.Session()

    def on_exception(s, cpu_id, vector, error_code):
        error.append(f"exception vector {vector} (error code {error_code}) at rip {s.cpu.state.rip:#x}")
        s.stop()

    def on_missing_page(gpa):
        raise RuntimeError(f"missing guest page {gpa:#x}")

    sess.missing_page_handler = on_missing_page
    hook = bochscpu.Hook()
    hook.exception = on_exception
    hook.hlt = lambda s, cpu_id: s.stop()
    sess.cpu.state = initial_state(rsp, rip, regs, fs_base)
    sess.run([hook])
    return sess.cpu.state, "".join(error)


def run_call(mem, call, features):
    missing = [f for f in call.get("needs", []) if not features.get(f)]
    if missing:
        return {"ok": False, "skipped": "the emulated CPU has no " + ", ".join(missing), "error": "", "outs": []}
    for r in call["regions"]:
        mem.write(r["addr"], r["bytes"])
    frame = SENTINEL_VA.to_bytes(8, "little") + b"".join(
        (a & (2**64 - 1)).to_bytes(8, "little") for a in call["args"])
    mem.write(STACK_TOP, frame)
    state, error = run(STACK_TOP, call["entry"], call.get("regs"), call.get("fs_base", 0))
    if not error and state.rip not in (SENTINEL_VA, SENTINEL_VA + 1):
        error = f"stopped at rip {state.rip:#x}, not at the return address"
    outs = []
    for r in call["regions"]:
        if r.get("out"):
            outs.append(base64.b64encode(mem.read(r["addr"], len(r["bytes"]))).decode())
    return {"ok": not error, "error": error, "outs": outs}


# Bochs' cpu.model is an index into its cpudb.h table; 30 is
# sapphire_rapids in Bochs 3.0 (bochscpu-python 0.4.0). main() checks the
# CPUID bits the kernels need, so a different table fails loudly.
SAPPHIRE_RAPIDS = 30


def select_cpu_model(index):
    """Sets Bochs' cpu.model parameter; call it before the first Session.

    bochscpu has no API for it, and its default (27, which it means as Tiger
    Lake but Bochs 3.0's table holds Cannon Lake at) lacks AVX512_VNNI,
    AVX512_BF16 and AVX-VNNI. Bochs fixes the instruction set of its decoder
    when it initialises its first CPU, so the model must be set before any
    Session exists: bochscpu's exported get_param_enum (which ignores its
    this pointer) creates the parameters and returns this one, and Bochs'
    exported bx_param_enum_c::set sets it.
    """
    lib = ctypes.CDLL(bochscpu._bochscpu.__file__)

    def fn(name, restype, *argtypes):
        return ctypes.CFUNCTYPE(restype, *argtypes)(ctypes.cast(getattr(lib, name), ctypes.c_void_p).value)

    get = fn("_ZN13bx_real_sim_c14get_param_enumEPKcP10bx_param_c", ctypes.c_void_p,
             ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)
    param = get(None, b"cpu.model", None)
    if not param:
        raise RuntimeError("Bochs' cpu.model parameter not found")
    fn("_ZN15bx_param_enum_c3setEl", None, ctypes.c_void_p, ctypes.c_int64)(param, index)


def cpu_features(mem):
    """What the emulated CPU's CPUID leaf 7 reports for the kernels' ISAs."""
    regs = {}
    for sub in (0, 1):
        # mov eax, 7; mov ecx, sub; cpuid; hlt
        mem.write(CPUID_VA, bytes([0xB8, 7, 0, 0, 0, 0xB9, sub, 0, 0, 0, 0x0F, 0xA2, 0xF4]))
        st, error = run(STACK_TOP, CPUID_VA)
        if error:
            raise RuntimeError("CPUID: " + error)
        regs[sub] = (st.rax, st.rbx, st.rcx, st.rdx)
    bit = lambda v, n: bool(v >> n & 1)
    return {
        "avx512f": bit(regs[0][1], 16),
        "avx512_vnni": bit(regs[0][2], 11),
        "amx_bf16": bit(regs[0][3], 22),
        "amx_tile": bit(regs[0][3], 24),
        "amx_int8": bit(regs[0][3], 25),
        "avx_vnni": bit(regs[1][0], 4),
        "avx512_bf16": bit(regs[1][0], 5),
    }


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    with open(sys.argv[1]) as f:
        req = json.load(f)
    select_cpu_model(SAPPHIRE_RAPIDS)
    mem = Memory()
    mem.need(STACK_VA, STACK_PAGES * PAGE)
    mem.need(SENTINEL_VA, PAGE)
    mem.need(CPUID_VA, PAGE)
    shared = req.get("shared", [])
    for r in shared + [r for c in req["calls"] for r in c["regions"]]:
        r["bytes"] = base64.b64decode(r["data"])
        mem.need(r["addr"], len(r["bytes"]))
    mem.commit()
    mem.write(SENTINEL_VA, b"\xf4" * 16)  # HLT
    for r in shared:
        mem.write(r["addr"], r["bytes"])
    features = cpu_features(mem)
    out = {"cpuid": features, "calls": [run_call(mem, c, features) for c in req["calls"]]}
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
