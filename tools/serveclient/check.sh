#!/usr/bin/env bash
# The Python side of `clip serve` and `clip index export`, with real
# clients from PyPI in their own venv (run by .ci/run; needs network for
# pip only). Everything else is local: a tiny synthetic model, generated
# images, the server on 127.0.0.1 with a random port.
#   tools/serveclient/check.sh [VENV]   (default /tmp/goclip-serveclient-venv)
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${1:-/tmp/goclip-serveclient-venv}
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
pid=
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q openai faiss-cpu numpy
fi
go build -o "$work/clip" ./cmd/clip
"$work/clip" synth --preset tiny --seed 5 --out "$work/model" >/dev/null
go run ./tools/genimages --n 40 --size 48 --out "$work/images"
img="$work/images/0000/img000003.png"
printf '"a photo of a cat"\n"a dog on a beach"\n"x"\n' > "$work/texts.jsonl"
"$work/clip" embed --model "$work/model" --out "$work/embed.safetensors" --texts "$work/texts.jsonl" "$img" >/dev/null
"$work/clip" index build --model "$work/model" --out "$work/index" "$work/images" >/dev/null
"$work/clip" index export --format faiss --out "$work/index.faiss" "$work/index" >/dev/null
"$work/clip" index search "$work/index" --image "$img" --k 5 --json > "$work/search.json"
GOCLIP_API_KEY=test-key "$work/clip" serve --model "$work/model" --index "$work/index" --addr 127.0.0.1:0 \
  > "$work/serve.out" 2> "$work/serve.log" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/serve.out")
[ -n "$url" ] || { cat "$work/serve.log"; exit 1; }
# The README's curl call.
curl -sf "$url/v1/embeddings" -H "Authorization: Bearer test-key" -H "Content-Type: application/json" \
  -d "{\"model\": \"$work/model\", \"input\": \"a photo of a cat\"}" | grep -q '"object":"embedding"'
echo "curl: ok"
"$venv/bin/python" tools/serveclient/check.py "$url" "$work/model" test-key "$work/embed.safetensors" \
  "$work/texts.jsonl" "$img" "$work/index" "$work/index.faiss" "$work/search.json"
kill -TERM $pid
wait $pid
echo "SIGTERM: exit 0"
pid=
