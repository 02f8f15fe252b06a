#!/usr/bin/env bash
# A real downstream client reads the bulk pipeline's output: autofaiss
# (rom1504's FAISS index builder, what clip-retrieval users run next) builds
# an index from OUT/img_emb with its own command; the index is then queried
# with every image as embedded by the core CLI (`clip embed`, not the
# pipeline) and must return that image's row first, the row's image_path
# in OUT/metadata/*.parquet naming the queried file.
#
#   tools/autofaiss_check.sh [VENV] [N]
#
# VENV: a Python venv folder, made and filled if it has no autofaiss yet
# (default: a new one in a temp folder,
# `pip install autofaiss==2.18.0 pyarrow==19.0.1`: autofaiss pins numpy<2 and
# the newest pyarrow needs numpy 2); N: images (default 60, from
# tools/genimages, 64x64, with one corrupt file added, which the pipeline
# must skip and list). The pipeline runs on Beam's Prism runner with a
# synthetic ViT-B/32 (clip synth --preset b32; PRESET=... for another):
# the tiny preset's random 24-dim embeddings of these images are too alike
# to rank (ties in float16), B/32's keep the own image first by a gap of
# ~0.02, 20x the float16 rounding.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-}
n=${2:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -n "$venv" ] || venv=$work/venv
if [ ! -x "$venv/bin/autofaiss" ]; then
  t0=$(date +%s)
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q autofaiss==2.18.0 pyarrow==19.0.1
  echo "autofaiss installed in $(( $(date +%s) - t0 )) s"
fi
go run ./cmd/clip synth --preset "${PRESET:-b32}" --out "$work/model" >/dev/null
go run ./tools/genimages --n "$n" --size 64 --out "$work/images"
printf 'not an image' > "$work/images/0000/corrupt.jpg"
echo "== pipeline on Prism"
(cd beam && go run ./cmd/embed --runner prism --model "$work/model" --input "$work/images" \
  --output "$work/out" --batch 16 --part-size 64 2>"$work/embed.log") || { tail -20 "$work/embed.log"; exit 1; }
grep -q 'corrupt.jpg' "$work/out/summary.json" || { echo "the corrupt file is not listed as skipped"; exit 1; }
echo "== autofaiss build_index"
"$venv/bin/autofaiss" build_index --embeddings="$work/out/img_emb" --index_path="$work/knn.index" \
  --index_infos_path="$work/infos.json" --metric_type=ip \
  --max_index_memory_usage=1G --current_memory_available=2G >"$work/autofaiss.log" 2>&1 || { tail -30 "$work/autofaiss.log"; exit 1; }
echo "== query with clip embed's embeddings"
"$venv/bin/python" tools/autofaiss_query.py paths "$work/out" > "$work/paths.txt"
mapfile -t imgs < "$work/paths.txt"
go run ./cmd/clip embed --model "$work/model" --out "$work/query.safetensors" "${imgs[@]}" >/dev/null
"$venv/bin/python" tools/autofaiss_query.py query "$work/out" "$work/knn.index" "$work/query.safetensors" "$work/paths.txt"
