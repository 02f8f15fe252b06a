#!/bin/sh
# Builds bochscpu-python with AMX into a venv, so TestLowpEmulated also runs
# amxInt8 and amxBF16 (the PyPI wheel's Bochs is built without AMX):
#
#   sh tools/emu/build_bochscpu_amx.sh VENV      (from the repository root)
#   GOCLIP_BOCHS_PYTHON=VENV/bin/python go test -run 'Emulated$' -v ./tensor
#
# Needs git access to GitHub (or SRC=DIR holding the five repositories
# below as DIR/<owner>+<name>, e.g. /work/.mirror), a C++ compiler, cargo
# (crates.io) and pip (PyPI); about 5 minutes on 2 cores. The revisions are
# those of the 0.4.0 wheel (February 2025); two changes on top:
#
#   - Bochs is configured with --enable-amx;
#   - bochs-amx-int8-sign.patch: Bochs' TDPBSSD/TDPBSUD/TDPBUSD widen
#     their signed bytes without sign extension (Bit32s(Bit8u) is 0…255),
#     so every AMX-INT8 product is computed unsigned. Found by
#     TestLowpEmulated (its amxInt8 sums equalled u8×u8 exactly); the same
#     code is in Bochs' master of August 2026.
#
# and newer Rust needs --cap-lints=warn for bochscpu's 2025 sources.
set -eu
VENV=${1:?usage: build_bochscpu_amx.sh VENV}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fetch() { # owner/name revision dir
	if [ -n "${SRC:-}" ]; then
		git -C "$SRC/$(echo "$1" | tr / +)/repo" archive "$2" | tar -x -C "$3" 2>/dev/null ||
			git -C "$SRC/$(echo "$1" | tr / +)/repo" archive "$2" -- bochs ':(exclude)bochs/bios/OVMF' | tar -x -C "$3"
	else
		git clone -q "https://github.com/$1" "$3" && git -C "$3" checkout -q "$2"
	fi
}
cd "$WORK"
mkdir Bochs build bochscpu bochscpu-ffi bochscpu-python
fetch bochs-emu/Bochs 91c6e652c58d397cad4964c2a0e33bf0d0a9efc8 Bochs
fetch yrp604/bochscpu-build 837507f74c2fc0682d023c381631bb23c4d059f7 build
fetch yrp604/bochscpu d9b14644851b10c2ba62726745da9a1cf40eb2ef bochscpu
fetch yrp604/bochscpu-ffi 4bb73218290906bf18bad7320cb180bda6bfc4c4 bochscpu-ffi
fetch hugsy/bochscpu-python 1055613 bochscpu-python

cd Bochs
cp ../build/conf/.conf.cpu bochs/
cp -r ../build/bochscpu bochs/instrument/
for p in ../build/patches/*.patch "$HERE/bochs-amx-int8-sign.patch"; do
	patch -p1 -l -s < "$p"
done
cd bochs
CONFIGURE_ARGS=--enable-amx sh .conf.cpu > ../../configure.log
grep -q 'define BX_SUPPORT_AMX 1' config.h
for d in cpu/fpu cpu/avx cpu/cpudb cpu/softfloat3e cpu; do
	make -s -j"$(nproc)" -C "$d" > /dev/null
done
cd ../..
mkdir bochscpu/lib
find Bochs/bochs -type f -name 'lib*.a' -exec cp {} bochscpu/lib/ \;
cp -r Bochs/bochs bochscpu/bochs
(cd bochscpu-ffi && RUSTFLAGS=--cap-lints=warn cargo build -q --release)
mkdir -p bochscpu-python/bochscpu/lib/Release
cp bochscpu-ffi/target/release/libbochscpu_ffi.a bochscpu-python/bochscpu/lib/Release/
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q scikit-build-core nanobind
"$VENV/bin/pip" install -q --no-build-isolation --force-reinstall --no-deps ./bochscpu-python
echo "bochscpu with AMX installed in $VENV"
