#!/usr/bin/env python3
"""Time transformers' CLIPModel on the CPU: the PyTorch side of BENCHMARKS.md.

Usage (2 threads, as `clip bench` with GOMAXPROCS=2 on this 2-core machine;
tools/bench.sh runs the whole comparison):

    go run ./cmd/clip synth --preset b32 --out /tmp/b32
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        /root/goclip-venv/bin/python tools/bench_torch.py --model /tmp/b32 \
        --text-ids texts=ids.jsonl [--attn eager|sdpa]

It loads the model folder with CLIPModel.from_pretrained (float32, the
given attention implementation), then for each image batch size times
get_image_features on deterministic pixel values (the pattern `clip bench`
uses), and get_text_features on the first --text-batch token sequences of
each --text-ids LABEL=FILE (JSON arrays of ids, one per line, as `clip
tokenize` prints them), padded to the longest with an attention mask as
CLIPProcessor's padding=True does. Each measurement runs for --duration seconds after a
warm-up call. Output lines have the format of `clip bench`. Not used by
`go test`.
"""

import argparse
import json
import os
import platform
import resource
import time


def rate(fn, n_items, duration):
    fn()  # warm-up
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        el = time.perf_counter() - start
        if el >= duration and calls >= 2:
            return calls * n_items / el, el / calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="HF-style CLIP model folder")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,10,64", help="image batch sizes")
    ap.add_argument("--text-ids", action="append", default=[],
                    help="LABEL=FILE: JSON lines of token ids (clip tokenize output); repeatable")
    ap.add_argument("--text-batch", type=int, default=10)
    ap.add_argument("--attn", default="eager", choices=["eager", "sdpa"])
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    ap.add_argument("--dtype", default="f32", choices=["f32", "bf16"],
                    help="bf16: model.to(torch.bfloat16), inputs in bf16 (the issue's 'PyTorch bf16 weights')")
    args = ap.parse_args()

    import torch
    import transformers
    from transformers import CLIPConfig, CLIPModel

    torch.set_num_threads(args.threads)
    # torch.backends.cpu appeared in torch 2.0; Debian's 1.13 (OpenBLAS) lacks it.
    cpu_cap = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: "n/a")()
    print(f"torch {torch.__version__} transformers {transformers.__version__} "
          f"python {platform.python_version()} threads {torch.get_num_threads()} "
          f"attn {args.attn} dtype {args.dtype} cpu-capability {cpu_cap} "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')} "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}")

    t0 = time.perf_counter()
    # transformers 5 validates float fields strictly; a config written with
    # integral values (e.g. "initializer_factor": 1) is coerced here.
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    floats = {"initializer_factor", "initializer_range", "logit_scale_init_value",
              "layer_norm_eps", "attention_dropout", "dropout"}
    for d in (cfg, cfg.get("text_config", {}), cfg.get("vision_config", {})):
        for key in floats & d.keys():
            if isinstance(d[key], int):
                d[key] = float(d[key])
    config = CLIPConfig.from_dict(cfg)
    # transformers 5 calls the dtype argument `dtype`, 4.x `torch_dtype`.
    dtype_arg = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    model = CLIPModel.from_pretrained(args.model, config=config, attn_implementation=args.attn,
                                      local_files_only=True, **{dtype_arg: torch.float32})
    model.eval()
    if args.dtype == "bf16":
        model = model.to(torch.bfloat16)
    print(f"load: {time.perf_counter() - t0:.3f} s")
    dt = torch.bfloat16 if args.dtype == "bf16" else torch.float32

    size = model.config.vision_config.image_size
    with torch.inference_mode():
        for b in [int(x) for x in args.batches.split(",") if x]:
            n = b * 3 * size * size
            px = (torch.arange(n, dtype=torch.int64) % 251).float().div(125).sub(1).reshape(b, 3, size, size).to(dt)
            ips, lat = rate(lambda: model.get_image_features(pixel_values=px), b, args.duration)
            print(f"images batch {b}: images/s: {ips:.2f} ({lat * 1e3:.1f} ms per call)", flush=True)

        for spec in args.text_ids:
            label, path = spec.split("=", 1)
            with open(path) as f:
                seqs = [json.loads(l) for l in f if l.strip()][:args.text_batch]
            b = len(seqs)
            longest = max(len(s) for s in seqs)
            pad = seqs[0][-1]  # <|endoftext|>, CLIP's pad token
            ids = torch.tensor([s + [pad] * (longest - len(s)) for s in seqs], dtype=torch.int64)
            mask = torch.tensor([[1] * len(s) + [0] * (longest - len(s)) for s in seqs], dtype=torch.int64)
            tps, lat = rate(lambda: model.get_text_features(input_ids=ids, attention_mask=mask), b, args.duration)
            print(f"{label} batch {b}: texts/s: {tps:.2f} ({lat * 1e3:.1f} ms per call; padded to {longest} tokens)")

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
