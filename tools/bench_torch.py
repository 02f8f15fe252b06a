#!/usr/bin/env python3
"""Time transformers' CLIPModel on the CPU: the PyTorch side of BENCHMARKS.md.

Usage (2 threads, as `clip bench` on this 2-core machine):

    go run ./cmd/clip synth --preset b32 --out /tmp/b32
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=2 \\
        /root/goclip-venv/bin/python tools/bench_torch.py --model /tmp/b32

It loads the model folder with CLIPModel.from_pretrained (float32, eager
attention), then for each image batch size times get_image_features on
deterministic pixel values, and get_text_features on full 77-token inputs
(the same inputs `clip bench` uses), each for --duration seconds after a
warm-up call. Prints one line per measurement and the load time and peak
RSS. Not used by `go test`.
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
        if el >= duration and calls >= 3:
            return calls * n_items / el, el / calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="HF-style CLIP model folder")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,10,64", help="image batch sizes")
    ap.add_argument("--text-batch", type=int, default=10)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    args = ap.parse_args()

    import torch
    import transformers
    from transformers import CLIPConfig, CLIPModel

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__} transformers {transformers.__version__} "
          f"python {platform.python_version()} threads {torch.get_num_threads()} "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')} "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')} "
          f"mkldnn={torch.backends.mkldnn.is_available()}")

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
    model = CLIPModel.from_pretrained(args.model, config=config, torch_dtype=torch.float32,
                                      attn_implementation="eager", local_files_only=True)
    model.eval()
    print(f"load: {time.perf_counter() - t0:.2f} s")

    size = model.config.vision_config.image_size
    length = model.config.text_config.max_position_embeddings
    vocab = model.config.text_config.vocab_size
    with torch.inference_mode():
        for b in [int(x) for x in args.batches.split(",") if x]:
            n = b * 3 * size * size
            px = (torch.arange(n, dtype=torch.int64) % 251).float().div(125).sub(1).reshape(b, 3, size, size)
            ips, lat = rate(lambda: model.get_image_features(pixel_values=px), b, args.duration)
            print(f"images batch {b}: {ips:.2f} images/s ({lat * 1e3:.1f} ms per call)")

        b = args.text_batch
        # As cmd/clip/bench.go: BOS, 256 + (i·L+j) mod 40000, then the EOS
        # (the highest id, pooled under either EOS rule).
        ids = (256 + torch.arange(b * length, dtype=torch.int64) % 40000).reshape(b, length)
        ids[:, 0] = model.config.text_config.bos_token_id
        eos = model.config.text_config.eos_token_id
        ids[:, -1] = eos if eos != 2 and eos < vocab else vocab - 1
        mask = torch.ones_like(ids)
        tps, lat = rate(lambda: model.get_text_features(input_ids=ids, attention_mask=mask), b, args.duration)
        print(f"texts batch {b}: {tps:.2f} texts/s ({lat * 1e3:.1f} ms per call)")

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
