#!/usr/bin/env python3
"""Time ONNX Runtime on CLIP's image tower: the ONNX peers of BENCHMARKS.md.

Usage (tools/bench.sh runs it; 2 threads as goclip with GOMAXPROCS=2):

    /root/goclip-venv/bin/python tools/bench_ort.py --model /tmp/b32 \
        --onnx-dir /tmp/goclip-bench/onnx --quant int8 --threads 2

The first run exports transformers' CLIPModel.get_image_features (float32,
eager attention) to ONNX (opset 17) from the model folder, and for --quant
int8 quantises it with onnxruntime.quantization.quantize_dynamic
(QInt8 weights, per channel: MatMulInteger/ConvInteger with dynamic u8
activations), caching both files in --onnx-dir. It then times
batches of the deterministic pixel values `clip bench` uses, after one
warm-up call, for --duration seconds each, and prints lines in the format
of `clip bench`:

    images batch N: images/s: X (Y ms per call)

With --check it also prints the centred cosine of the embeddings to the
float32 PyTorch model on those inputs. Not used by `go test`.
"""

import argparse
import json
import os
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


def load_torch(model_dir):
    import torch
    from transformers import CLIPConfig, CLIPModel
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    floats = {"initializer_factor", "initializer_range", "logit_scale_init_value",
              "layer_norm_eps", "attention_dropout", "dropout"}
    for d in (cfg, cfg.get("text_config", {}), cfg.get("vision_config", {})):
        for key in floats & d.keys():
            if isinstance(d[key], int):
                d[key] = float(d[key])
    m = CLIPModel.from_pretrained(model_dir, config=CLIPConfig.from_dict(cfg), attn_implementation="eager",
                                  local_files_only=True)
    return m.eval()


def export(model_dir, path):
    import torch

    class Img(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, pixel_values):
            out = self.m.get_image_features(pixel_values=pixel_values)
            return getattr(out, "pooler_output", out)

    m = load_torch(model_dir)
    size = m.config.vision_config.image_size
    x = torch.zeros(1, 3, size, size)
    torch.onnx.export(Img(m), (x,), path, input_names=["pixel_values"], output_names=["image_embeds"],
                      dynamic_axes={"pixel_values": {0: "n"}, "image_embeds": {0: "n"}}, opset_version=17,
                      dynamo=False)
    return size


def pixels(b, size):
    import numpy as np
    n = b * 3 * size * size
    return ((np.arange(n, dtype=np.int64) % 251).astype(np.float32) / 125 - 1).reshape(b, 3, size, size)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--onnx-dir", required=True)
    ap.add_argument("--quant", default="none", choices=["none", "int8", "int8-reduce", "uint8"],
                    help="int8: quantize_dynamic QInt8 weights per channel (the default a user gets); "
                    "int8-reduce: the same with reduce_range=True (7-bit weights, ONNX Runtime's remedy for "
                    "VPMADDUBSW saturation on CPUs without VNNI); uint8: QUInt8 weights (U8U8 kernels)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,10,64")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--check", action="store_true", help="print centred cosine to PyTorch float32")
    ap.add_argument("--golden", help="shared reference dir (../shared/reference): print the centred cosine of "
                    "the image embeddings of its 8 B/32 golden images to transformers' float64 run, as "
                    "clip's TestPrecisionB32 measures goclip (needs MODEL = the synthetic b32 preset)")
    args = ap.parse_args()

    import onnxruntime as ort
    os.makedirs(args.onnx_dir, exist_ok=True)
    f32 = os.path.join(args.onnx_dir, "vision-f32.onnx")
    with open(os.path.join(args.model, "config.json")) as f:
        size = json.load(f).get("vision_config", {}).get("image_size", 224)
    if not os.path.exists(f32):
        export(args.model, f32)
    path = f32
    if args.quant != "none":
        path = os.path.join(args.onnx_dir, f"vision-{args.quant}.onnx")
        if not os.path.exists(path):
            from onnxruntime.quantization import QuantType, quantize_dynamic
            wt = QuantType.QUInt8 if args.quant == "uint8" else QuantType.QInt8
            quantize_dynamic(f32, path, weight_type=wt, per_channel=True, reduce_range=args.quant == "int8-reduce")
    print(f"onnxruntime {ort.__version__} threads {args.threads} model {os.path.basename(path)}")
    t0 = time.perf_counter()
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    print(f"load: {time.perf_counter() - t0:.3f} s")
    for b in [int(x) for x in args.batches.split(",") if x]:
        px = pixels(b, size)
        ips, lat = rate(lambda: sess.run(None, {"pixel_values": px}), b, args.duration)
        print(f"images batch {b}: images/s: {ips:.2f} ({lat * 1e3:.1f} ms per call)", flush=True)
    if args.check:
        import numpy as np
        import torch
        n = 3 * size * size  # 8 different deterministic images
        px = np.stack([((np.arange(n) * (i + 1) + 37 * i * i) % (251 - 10 * i)).astype(np.float32) / 125 - 1
                       for i in range(8)]).reshape(8, 3, size, size)
        got = sess.run(None, {"pixel_values": px})[0].astype(np.float64)
        with torch.inference_mode():
            out = load_torch(args.model).get_image_features(pixel_values=torch.from_numpy(px))
        want = getattr(out, "pooler_output", out).double().numpy()
        mean = want.mean(0)
        g, w = got - mean, want - mean
        cos = (g * w).sum(1) / np.sqrt((g * g).sum(1) * (w * w).sum(1))
        print(f"centred cosine to torch f32: min {cos.min():.6f} mean {cos.mean():.6f}")
    if args.golden:
        golden_check(sess, args.golden)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MiB")


def golden_check(sess, ref):
    """Centred cosine (the float64 reference's mean embedding removed from
    both sides) of this session's image embeddings to the float64 run."""
    import json
    import numpy as np
    from safetensors import safe_open
    g = safe_open(os.path.join(ref, "golden", "b32-synthetic.safetensors"), "np")
    pre = safe_open(os.path.join(ref, "golden", "preprocess.safetensors"), "np")
    names = json.loads(g.metadata()["images"])
    px = np.stack([pre.get_tensor("224/" + n) for n in names]).astype(np.float32)
    got = sess.run(None, {"pixel_values": px})[0].astype(np.float64)
    want = g.get_tensor("f64_image_embeds").astype(np.float64)
    mean = want.mean(0)
    a, b = got - mean, want - mean
    cos = (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))
    print(f"golden images: centred cosine to float64: min {cos.min():.6f} mean {cos.mean():.6f}")


if __name__ == "__main__":
    main()
