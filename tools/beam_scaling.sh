#!/usr/bin/env bash
# Engine overhead of the Beam pipeline (beam/cmd/embed on Prism) against
# `clip bench` on the same machine, back to back:
#   tools/beam_scaling.sh [MODEL] [N]   (default: synthetic ViT-B/32, 256 images)
# clip bench --batch 32 times the model alone on ready pixel values; the
# pipeline adds listing, decoding + preprocessing, Beam's bundles and the
# writes. Prints `uptime` with every number (only a quiet machine's mean much).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=${2:-256}
go build -o "$work/clip" ./cmd/clip
(cd beam && go build -o "$work/embed" ./cmd/embed)
model=${1:-}
if [ -z "$model" ]; then
  model=$work/b32
  "$work/clip" synth --preset b32 --out "$model" >/dev/null
fi
go run ./tools/genimages --n "$n" --size 224 --out "$work/images"
load() { uptime | sed 's/.*load/load/'; }
echo "== clip bench --batch 32 ($(load))"
"$work/clip" bench --model "$model" --batch 32 --duration 20s 2>/dev/null | grep "images batch"
for w in 1 2; do
  echo "== pipeline, Prism, --workers $w ($(load))"
  "$work/embed" --runner prism --model "$model" --input "$work/images" --output "$work/out$w" \
    --batch 32 --part-size 32 --workers "$w" 2>/dev/null | grep images/s
done
echo "== clip bench --batch 32 again ($(load))"
"$work/clip" bench --model "$model" --batch 32 --duration 20s 2>/dev/null | grep "images batch"
cmp -s "$work/out1/img_emb/img_emb_0.npy" "$work/out2/img_emb/img_emb_0.npy" && echo "workers 1 and 2 wrote the same bytes"
