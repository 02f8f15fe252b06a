#!/usr/bin/env bash
# Engine overhead of the Beam pipeline (beam/cmd/embed on Prism) against
# `clip bench` on the same machine, back to back:
#   tools/beam_scaling.sh [MODEL] [N]   (default: synthetic ViT-B/32, 256 images)
# clip bench --batch 32 times the model alone on ready pixel values; the
# pipeline adds listing, decoding + preprocessing, Beam's bundles and the
# writes (parts of 32 images, so N/32 parts for the workers to share).
#
# For each run it prints the load average before it, images/s, the CPU
# seconds per image (process user + system time: with Prism the engine and
# its loopback workers are one process) and the cores kept busy (CPU time /
# wall time), then the pipeline's time split (decode, image tower, slot
# wait, write, setup = model load). The summary lines compare the pipeline
# with the mean of the two bench runs around it:
#   cpu overhead   = pipeline cpu-s per image / bench cpu-s per image - 1
#   wall overhead  = 1 - pipeline images/s / bench images/s
# On a shared machine only the first is meaningful; on a quiet one both
# are (the done-when figure is the wall overhead at --workers 2, <= 15%).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=${2:-256}
dur=${BENCH_DURATION:-20s}
go build -o "$work/clip" ./cmd/clip
(cd beam && go build -o "$work/embed" ./cmd/embed)
model=${1:-}
if [ -z "$model" ]; then
  model=$work/b32
  "$work/clip" synth --preset b32 --out "$model" >/dev/null
fi
go run ./tools/genimages --n "$n" --size 224 --out "$work/images" >/dev/null
load() { uptime | sed 's/.*load average: //'; }
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, GOMAXPROCS ${GOMAXPROCS:-default}"

bench() { # prints "images/s cpu-ms-per-image"
  echo "== clip bench --batch 32 --duration $dur (load before: $(load))" >&2
  local line
  line=$("$work/clip" bench --model "$model" --batch 32 --duration "$dur" 2>/dev/null | grep "images batch")
  echo "$line" >&2
  echo "$line" | sed -E 's/.*images\/s: ([0-9.]+) \(.*; ([0-9.]+) cpu-ms per image\)/\1 \2/'
}

pipeline() { # $1 = workers; prints "images/s cpu-ms-per-image"
  echo "== pipeline, Prism, --workers $1 (load before: $(load))" >&2
  "$work/embed" --runner prism --model "$model" --input "$work/images" --output "$work/out$1" \
    --batch 32 --part-size 32 --workers "$1" >"$work/p$1.txt" 2>"$work/p$1.err" ||
    { cat "$work/p$1.err" >&2; exit 1; }
  grep -E "^(timing|process|[0-9]+ parts)" "$work/p$1.txt" >&2
  awk '/captions embedded in/ { gsub(/[(]/, "", $10); imgs = $3; rate = $10 }
       /^process cpu/ { gsub(/s/, "", $3); cpu = $3 }
       END { printf "%s %.1f\n", rate, cpu / imgs * 1000 }' "$work/p$1.txt"
}

read -r b1 c1 < <(bench)
read -r w1 cw1 < <(pipeline 1)
read -r w2 cw2 < <(pipeline 2)
read -r b2 c2 < <(bench)
echo "== load after: $(load)"
if diff -r "$work/out1" "$work/out2" >/dev/null; then
  echo "workers 1 and 2 wrote the same bytes (every file)"
else
  echo "workers 1 and 2 wrote DIFFERENT outputs"
fi
awk -v b1="$b1" -v b2="$b2" -v c1="$c1" -v c2="$c2" -v w1="$w1" -v w2="$w2" -v cw1="$cw1" -v cw2="$cw2" 'BEGIN {
  b = (b1 + b2) / 2; c = (c1 + c2) / 2
  printf "bench (mean of 2): %.2f images/s, %.1f cpu-ms per image\n", b, c
  printf "workers 1: %.2f images/s, %.1f cpu-ms per image: cpu overhead %+.1f%%, wall overhead %+.1f%%\n", w1, cw1, (cw1 / c - 1) * 100, (1 - w1 / b) * 100
  printf "workers 2: %.2f images/s, %.1f cpu-ms per image: cpu overhead %+.1f%%, wall overhead %+.1f%%\n", w2, cw2, (cw2 / c - 1) * 100, (1 - w2 / b) * 100
}'
