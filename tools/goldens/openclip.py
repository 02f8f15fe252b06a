#!/usr/bin/env python3
"""Golden outputs of open_clip_torch's CLIP on small synthetic-weight models.

For each model in MODELS this script
  1. registers the model config with open_clip and builds it with
     open_clip.create_model (random init), then replaces every float
     tensor of its state_dict with the project's synthetic-weight recipe
     (recipe_tensor of models.py, the numpy twin of the Go package synth)
     under OpenCLIP's own tensor names,
  2. saves it as open_clip publishes to the Hugging Face hub
     (open_clip_config.json with model_cfg and preprocess_cfg, and
     open_clip_model.safetensors) and loads it back with
     create_model("local-dir:…"), so the goldens come from the saved format,
  3. tokenizes TEXTS with open_clip's tokenizer at the model's context
     length and runs the model in float32 and float64 (the same float32
     weights cast up; open_clip's attention is torch's
     scaled_dot_product_attention, whose CPU path computes in the input
     dtype), with forward hooks taking every residual block's output,
  4. writes testdata/golden/openclip-<model>.safetensors: inputs,
     embeddings (projected, unnormalised: encode_image/encode_text),
     normalised embeddings, logits (logit_scale.exp()·cos, + logit_bias if
     the model has one), and per-layer float64 hidden states; metadata
     holds open_clip_config.json and the recipe seed.

Run from the repository root:
    /root/goclip-venv/bin/python tools/goldens/openclip.py
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np
import open_clip
import safetensors.torch
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import recipe_tensor, write_safetensors  # noqa: E402

MODELS = {
    # openai-style: QuickGELU, argmax pooling (the EOT id is the highest).
    "tiny-quickgelu": (31, {
        "embed_dim": 16, "quick_gelu": True,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 8, "patch_size": 8, "mlp_ratio": 2.5},
        "text_cfg": {"context_length": 20, "vocab_size": 49408, "width": 24, "heads": 3, "layers": 2},
    }),
    # LAION-style exact GELU; no ln_pre, final_ln_after_pool (same result
    # under class-token pooling), text pooled at the first EOS id.
    "tiny-gelu-eos": (32, {
        "embed_dim": 20,
        "vision_cfg": {"image_size": 48, "layers": 3, "width": 40, "head_width": 8, "patch_size": 16,
                       "no_ln_pre": True, "final_ln_after_pool": True},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 4, "layers": 2,
                     "mlp_ratio": 2.25, "pool_type": "eos", "eos_id": 49407},
    }),
    # Text pooled at the last position of the padded context (causal mask).
    "tiny-last": (33, {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 24, "head_width": 8, "patch_size": 16},
        "text_cfg": {"context_length": 12, "vocab_size": 49408, "width": 24, "heads": 2, "layers": 2,
                     "pool_type": "last"},
    }),
}

TEXTS = ["a photo of a cat", "A Photo Of A DOG!!", "café & crème brûlée — 東京 🍣", "x", "",
         " ".join(["word"] * 30)]  # longer than the context: truncated, EOT kept


def hidden_hook(store):
    def pre(_module, args):
        store.append(args[0].detach().clone())

    def post(_module, _args, out):
        store.append(out.detach().clone())
    return pre, post


def run(model, dtype, pixels, ids):
    m = model.to(dtype)
    px = torch.tensor(pixels).to(dtype)
    ids = torch.tensor(ids)
    npy = lambda t: t.detach().numpy().astype(np.float64 if dtype == torch.float64 else np.float32)
    out = {}
    for tower, arg, key in ((m.visual, px, "vision"), (m, ids, "text")):
        blocks = (tower.transformer.resblocks)
        hs = []
        pre, post = hidden_hook(hs)
        handles = [blocks[0].register_forward_pre_hook(pre)] + [b.register_forward_hook(post) for b in blocks]
        with torch.no_grad():
            emb = m.encode_image(arg) if key == "vision" else m.encode_text(arg)
        for h in handles:
            h.remove()
        out[("image" if key == "vision" else "text") + "_embeds"] = npy(emb)
        out[key + "_hidden"] = np.stack([npy(h) for h in hs])
    with torch.no_grad():
        img, txt = out["image_embeds"], out["text_embeds"]
        ti, tt = torch.tensor(img), torch.tensor(txt)
        ni, nt = ti / ti.norm(dim=-1, keepdim=True), tt / tt.norm(dim=-1, keepdim=True)
        logits = m.logit_scale.exp() * ni @ nt.T
        if getattr(m, "logit_bias", None) is not None:
            logits = logits + m.logit_bias
    out["image_embeds_norm"], out["text_embeds_norm"], out["logits_per_image"] = npy(ni), npy(nt), npy(logits)
    return out


def build(name, seed, cfg, work):
    cfg_dir = os.path.join(work, "configs")
    os.makedirs(cfg_dir, exist_ok=True)
    with open(os.path.join(cfg_dir, f"goclip-{name}.json"), "w") as f:
        json.dump(cfg, f)
    open_clip.add_model_config(cfg_dir)
    model = open_clip.create_model(f"goclip-{name}")
    sd = model.state_dict()
    weights = {k: torch.from_numpy(recipe_tensor(k, tuple(v.shape), seed)) for k, v in sd.items()
               if v.dtype == torch.float32}
    model.load_state_dict(weights, strict=True)
    out = os.path.join(work, name)
    os.makedirs(out)
    safetensors.torch.save_file(model.state_dict(), os.path.join(out, "open_clip_model.safetensors"))
    hub_cfg = {"model_cfg": cfg, "preprocess_cfg": {"mean": list(model.visual.image_mean),
                                                    "std": list(model.visual.image_std)}}
    with open(os.path.join(out, "open_clip_config.json"), "w") as f:
        json.dump(hub_cfg, f, indent=2)
    loaded = open_clip.create_model("local-dir:" + out).eval()
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, model.state_dict()[k]), k
    return loaded, hub_cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="testdata/golden")
    args = ap.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as work:
        for name, (seed, cfg) in MODELS.items():
            model, hub_cfg = build(name, seed, cfg, work)
            ctx = cfg["text_cfg"]["context_length"]
            ids = open_clip.tokenize(TEXTS, context_length=ctx).numpy().astype(np.int64)
            s = cfg["vision_cfg"]["image_size"]
            rng = np.random.default_rng(seed)
            pixels = rng.uniform(-1.79, 2.15, size=(3, 3, s, s)).astype(np.float32)
            out = {"pixel_values": pixels, "input_ids": ids}
            for prefix, dt in (("f32_", torch.float32), ("f64_", torch.float64)):
                for k, v in run(model, dt, pixels, ids).items():
                    if prefix == "f32_" and k.endswith("_hidden"):
                        continue
                    out[prefix + k] = v
            meta = {
                "reference": f"open_clip_torch {open_clip.__version__} create_model, CPU, torch {torch.__version__}; "
                             "f32 = float32 run, f64 = float64 run of the same float32 weights",
                "open_clip_config": json.dumps(hub_cfg),
                "seed": str(seed),
                "texts": json.dumps(TEXTS, ensure_ascii=False),
            }
            path = os.path.join(args.out, f"openclip-{name}.safetensors")
            write_safetensors(path, out, meta)
            print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
