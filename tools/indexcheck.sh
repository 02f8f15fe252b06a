#!/usr/bin/env bash
# The issue's `clip index build` checks at full size, on this machine:
#   tools/indexcheck.sh [MODEL] [N]     (default: a synthetic b32 model, 10000 images)
# 1. N generated 64×64 images (half JPEG, half PNG): build time and images/s,
#    next to `clip bench` at the same batch size (32), back to back;
# 2. a build SIGKILLed mid-way, then resumed: same bytes as the
#    uninterrupted build (manifest, embeddings, metadata);
# 3. 100 files changed: the rerun embeds exactly 100.
# Prints `uptime` with every timing (the numbers only mean something on a quiet machine).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=${2:-10000}
go build -o "$work/clip" ./cmd/clip
model=${1:-}
if [ -z "$model" ]; then
  model=$work/b32
  "$work/clip" synth --preset b32 --out "$model" >/dev/null
fi
go run ./tools/genimages --n "$n" --size 64 --out "$work/images"
echo "== clip bench --batch 32 (load: $(uptime | sed 's/.*load/load/'))"
"$work/clip" bench --model "$model" --batch 32 --duration 20s 2>/dev/null | grep "images batch"
echo "== index build of $n images (load: $(uptime | sed 's/.*load/load/'))"
t0=$(date +%s.%N)
/usr/bin/time -f "wall %e s, max RSS %M KiB" "$work/clip" index build --model "$model" --out "$work/ref" "$work/images" 2>&1 | grep -v "seen,"
third=$(echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f", ($2-$1)/3}')
echo "== interrupted build (SIGKILL after ${third} s, a third of the reference time), then resumed"
"$work/clip" index build --model "$model" --out "$work/ix" "$work/images" >/dev/null 2>&1 &
pid=$!
sleep "$third"
kill -KILL $pid
wait $pid 2>/dev/null || true
echo "checkpoint files after SIGKILL: $(ls "$work/ix/.partial" | grep -c chunk)"
if [ -e "$work/ix/manifest.json" ]; then echo "a killed first build left a manifest"; exit 1; fi
echo "no manifest: nothing a reader would trust"
"$work/clip" index build --model "$model" --out "$work/ix" "$work/images" 2>/dev/null
for f in manifest.json $(cd "$work/ref" && ls embeddings-* metadata-*); do
  cmp "$work/ref/$f" "$work/ix/$f"
done
echo "resumed index equals the uninterrupted one, bit for bit"
echo "== 100 files changed"
for i in $(seq 0 99); do
  k=$((i * (n / 100)))
  f=$(printf "%s/images/%04d/img%06d" "$work" $((k / 1000)) $k)
  f=$(ls "$f".* | head -1)
  printf 'x' >> "$f"   # still decodes (trailing byte), new content hash
done
"$work/clip" index build --model "$model" --out "$work/ref" "$work/images" 2>/dev/null | tee "$work/out.txt"
grep -q " 100 embedded" "$work/out.txt" && echo "exactly 100 re-embedded"
