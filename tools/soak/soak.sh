#!/usr/bin/env bash
# The issue's soak for `clip eval`:
#   tools/soak/soak.sh [N] [KILLS] [RSS_MIB]     (defaults 20000 images, 10 kills, 256 MiB)
# 1. a generated WebDataset of N images, 1% corrupt (tools/soak/main.go), and
#    the tiny synthetic model;
# 2. an uninterrupted `clip eval --skip-bad` (the reference), with its max RSS;
# 3. the same run SIGKILLed at KILLS random points (random sample counts,
#    each plus 0-0.5 s) and resumed each time with --resume, then run to
#    the end: its R.json, R.classes.csv and R.confusions.csv must equal the
#    reference's byte for byte, and no run's max RSS may exceed RSS_MIB;
# 4. the race detector: `clip eval` built with -race on the first 2000
#    images, killed once and resumed, must report no race.
# Prints `uptime` with the timings (this machine is shared).
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-20000}
kills=${2:-10}
rss_mib=${3:-256}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/clip" ./cmd/clip
go build -race -o "$work/clip-race" ./cmd/clip
"$work/clip" synth --preset tiny --out "$work/model" >/dev/null
go run ./tools/soak --n "$n" --out "$work/ds"
run() { # run OUT EXTRA...: clip eval with time(1)'s max RSS in OUT.rss
  local out=$1; shift
  /usr/bin/time -f "%M" -o "$out.rss" "$work/clip" eval --model "$work/model" --dataset "$work/ds" \
    --templates names --skip-bad --workers 2 --checkpoint 5 --out "$out" "$@" >/dev/null 2>"$out.log"
}
check_rss() {
  local kib; kib=$(tail -1 "$1.rss" | tr -dc 0-9)
  [ -n "$kib" ] || return 0 # killed: time(1) reports nothing
  echo "  max RSS $((kib / 1024)) MiB ($1)"
  if [ "$kib" -gt $((rss_mib * 1024)) ]; then echo "FAIL: RSS over $rss_mib MiB"; exit 1; fi
}
echo "== reference run, $n images (load: $(uptime | sed 's/.*load/load/'))"
t0=$(date +%s.%N)
run "$work/ref.json"
t=$(echo "$t0 $(date +%s.%N)" | awk '{printf "%.2f", $2-$1}')
echo "  $t s; $(grep -c '^eval: skipped' "$work/ref.json.log") samples skipped as corrupt"
check_rss "$work/ref.json"
echo "== $kills SIGKILLs at random points, resumed each time (load: $(uptime | sed 's/.*load/load/'))"
# The kill points: KILLS random sample counts, sorted. Each run (resumed
# after the first) is watched until its saved results pass the next
# point, then SIGKILLed after a further random 0-0.5 s (so that kills
# fall anywhere between checkpoints, not only just after one).
points=$(awk -v n="$n" -v k="$kills" -v s="$RANDOM" 'BEGIN{srand(s); for(i=0;i<k;i++) print int(rand()*n*0.95)}' | sort -n)
saved_of() { grep -o '"samples": [0-9]*' "$1" 2>/dev/null | tr -dc 0-9 || true; }
resume=()
k=0
for p in $points; do
  k=$((k + 1))
  run "$work/r.json" "${resume[@]}" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    s=$(saved_of "$work/r.json"); [ "${s:-0}" -ge "$p" ] && break
    sleep 0.05
  done
  sleep "$(awk -v s="$RANDOM" 'BEGIN{srand(s); printf "%.2f", rand()*0.5}')"
  # time(1) is the child of the subshell; kill clip, its child.
  pkill -KILL -P "$(pgrep -P "$pid" -x time || echo 0)" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  s=$(saved_of "$work/r.json")
  echo "  kill $k (point $p): ${s:-0} samples saved"
  check_rss "$work/r.json"
  resume=(--resume)
done
run "$work/r.json" --resume
check_rss "$work/r.json"
for f in json classes.csv confusions.csv; do
  if ! cmp -s "$work/ref.$f" "$work/r.$f"; then echo "FAIL: r.$f differs from the uninterrupted run"; diff "$work/ref.$f" "$work/r.$f" | head; exit 1; fi
done
echo "  resumed results identical to the uninterrupted run (json, classes.csv, confusions.csv)"
echo "== -race: 2000 images, killed once, resumed"
race() {
  "$work/clip-race" eval --model "$work/model" --dataset "$work/ds" --templates names --skip-bad \
    --workers 2 --checkpoint 2 --limit 2000 --out "$work/race.json" "$@" >/dev/null 2>>"$work/race.log"
}
race & pid=$!; sleep 3; kill -9 "$(pgrep -P "$pid" || echo 0)" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
race --resume
if grep -q "DATA RACE" "$work/race.log"; then echo "FAIL: data race"; grep -A20 "DATA RACE" "$work/race.log" | head -40; exit 1; fi
echo "  no data race reported"
echo "PASS (load: $(uptime | sed 's/.*load/load/'))"
