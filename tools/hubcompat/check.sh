#!/usr/bin/env bash
# Cache interoperability check between goclip/hub and Python's
# huggingface_hub, against the fake Hub of hub/hubtest on loopback.
# Usage: tools/hubcompat/check.sh [python]   (default /root/goclip-venv/bin/python)
set -euo pipefail
PY=${1:-/root/goclip-venv/bin/python}
cd "$(dirname "$0")/../.."
T=$(mktemp -d); trap 'kill $SRV 2>/dev/null || true; rm -rf "$T"' EXIT
go build -o "$T/hc" ./tools/hubcompat
echo "== Go downloads, Python reads offline"
"$T/hc" go "$T/c1"
HF_HUB_OFFLINE=1 HF_HUB_CACHE="$T/c1" "$PY" -c "
from huggingface_hub import hf_hub_download, scan_cache_dir
for r, f, t in [('org/tiny','model.safetensors','model'),('org/tiny','config.json','model'),('org/ds','test/0.tar','dataset')]:
    print(hf_hub_download(r, f, repo_type=t))
print(scan_cache_dir().warnings or 'scan_cache_dir: no warnings')"
echo "== Python downloads, Go reads with an unreachable endpoint"
"$T/hc" > "$T/url" & SRV=$!
for _ in $(seq 50); do [ -s "$T/url" ] && break; sleep 0.1; done
HF_ENDPOINT=$(head -1 "$T/url") HF_HUB_CACHE="$T/c2" HF_HUB_DISABLE_XET=1 "$PY" -c "
from huggingface_hub import hf_hub_download
for r, f, t in [('org/tiny','model.safetensors','model'),('org/tiny','config.json','model'),('org/ds','test/0.tar','dataset')]:
    hf_hub_download(r, f, repo_type=t)"
kill $SRV
"$T/hc" read "$T/c2"
echo "== layouts"
diff <(cd "$T/c1" && find . -printf '%p %l\n' | sort) <(cd "$T/c2" && find . -printf '%p %l\n' | sort) && echo "identical cache trees (paths and symlink targets)"
