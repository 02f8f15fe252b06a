#!/usr/bin/env python3
"""Turn the logs of tools/bench.sh into the markdown table of BENCHMARKS.md.

    python tools/bench_table.py OUT_DIR

Reads OUT_DIR/NAME.rR.log, round R of setting NAME (torch-* from
tools/bench_torch.py, goclip from `clip bench`, each under /usr/bin/time -v),
and prints one column per setting with the median over the rounds (peers
first, then goclip-* in each precision), and the best goclip column's
advantage over the best peer of each row: goclip ÷ peer for rates, peer ÷
goclip for latency, load time and memory (so above 1× always means goclip
is better). Rows a setting did not measure (ONNX Runtime: texts) are —.
"""

import glob
import os
import re
import statistics
import sys

# The accuracy bar for int8 (centred cosine ≥ 0.995 on every
# golden image): the second comparison only counts peers that meet it.
ACCURATE = 0.995


def parse(path):
    r = {}
    for line in open(path, errors="replace"):
        if m := re.match(r"images batch (\d+): images/s: ([\d.]+) \(([\d.]+) ms", line):
            r[f"images/s, batch {m[1]}"] = float(m[2])
            if m[1] == "1":
                r["latency, 1 image (ms)"] = float(m[3])
        elif m := re.match(r"texts batch (\d+): texts/s: ([\d.]+)", line):
            r[f"texts/s, batch {m[1]} prompts"] = float(m[2])
        elif m := re.match(r"distinct texts batch (\d+): texts/s: ([\d.]+)", line):
            r[f"texts/s, batch {m[1]} distinct texts"] = float(m[2])
        elif m := re.match(r"load: ([\d.]+) ?s", line):
            r.setdefault("load (s)", float(m[1]))
        elif m := re.match(r"golden images: centred cosine to float64: min ([\d.]+)", line):
            r["accuracy: centred cosine, min of 8 golden images"] = float(m[1])
        elif m := re.search(r"Maximum resident set size \(kbytes\): (\d+)", line):
            r["peak RSS (MB)"] = int(m[1]) * 1024 / 1e6
    return r


def median_of(paths):
    runs = [parse(p) for p in paths]
    keys = {k for r in runs for k in r}
    return {k: statistics.median(r[k] for r in runs if k in r) for k in keys}, len(runs)


def main():
    out = sys.argv[1]
    groups = {}
    for p in sorted(glob.glob(os.path.join(out, "*.r*.log"))):
        groups.setdefault(os.path.basename(p).rsplit(".r", 1)[0], []).append(p)
    goname = sorted(g for g in groups if g.startswith("goclip"))
    gos = {g: median_of(groups.pop(g)) for g in goname}
    acc = os.path.join(out, "accuracy.txt")
    if os.path.exists(acc):  # goclip's, from TestPrecisionB32
        for line in open(acc, errors="replace"):
            if m := re.search(r"b32-synthetic (\w+) +centred cosine to float64: images min ([\d.]+)", line):
                if f"goclip-{m[1]}" in gos:
                    gos[f"goclip-{m[1]}"][0]["accuracy: centred cosine, min of 8 golden images"] = float(m[2])
    n = max(c for _, c in gos.values())
    runs = {name: median_of(ps)[0] for name, ps in sorted(groups.items())}
    print(f"median of {n} rounds")
    rows = ["images/s, batch 1", "images/s, batch 10", "images/s, batch 64",
            "latency, 1 image (ms)", "texts/s, batch 10 prompts",
            "texts/s, batch 10 distinct texts", "load (s)", "peak RSS (MB)",
            "accuracy: centred cosine, min of 8 golden images"]
    acc_row = rows[-1]
    # Peers whose accuracy is measured below ACCURATE are left out of the
    # second comparison (ONNX Runtime's int8 models on CPUs without VNNI:
    # the default saturates VPMADDUBSW, the remedies lose a bit).
    accurate = [n for n in runs if runs[n].get(acc_row, 1.0) >= ACCURATE]
    lower = {"latency, 1 image (ms)", "load (s)", "peak RSS (MB)"}
    names = list(runs)
    print("| | " + " | ".join(names) + " | " + " | ".join(f"**{g}**" for g in goname)
          + f" | best goclip vs best peer | vs best peer with accuracy ≥ {ACCURATE} |")
    print("| --- " * (len(names) + len(goname) + 3) + "|")

    def ratio(row, vals, gvals):
        have = [v for v in vals if v is not None]
        ghave = [v for v in gvals if v is not None]
        if not have or not ghave or row == acc_row:
            return ""
        pick = min if row in lower else max
        best, g = pick(have), pick(ghave)
        return f"{(best / g) if row in lower else (g / best):.2f}×"

    for row in rows:
        vals = [runs[n].get(row) for n in names]
        gvals = [gos[g][0].get(row) for g in goname]
        fmt = lambda v: "—" if v is None else (f"{v:.3f}" if row == "load (s)" else f"{v:.4f}" if row == acc_row else f"{v:.1f}")
        print(f"| {row} | " + " | ".join(fmt(v) for v in vals) + " | " + " | ".join(fmt(v) for v in gvals)
              + f" | {ratio(row, vals, gvals)} | {ratio(row, [runs[n].get(row) for n in accurate], gvals)} |")


if __name__ == "__main__":
    main()
