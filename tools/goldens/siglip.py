#!/usr/bin/env python3
"""Golden outputs of transformers' SiglipModel and SiglipImageProcessor.

For each model in MODELS this script
  1. builds the weights with the project's synthetic-weight recipe
     (recipe_tensor of models.py, the numpy twin of the Go package synth),
  2. runs SiglipModel (eager attention, CPU) in float32 and in float64 (the
     same float32 weights cast up) on random pixel values and on token ids
     padded to the text tower's max_position_embeddings with the pad id, as
     SiglipTokenizer(padding="max_length") gives them (the ids are stored:
     the Go test needs no tokenizer). transformers' eager attention does its
     softmax in float32 whatever the input dtype; for the float64 run this
     script replaces it with the same code doing the softmax in float64,
  3. writes testdata/golden/siglip-<model>.safetensors: inputs, per-layer
     float64 hidden states, pooled outputs (the heads' outputs are the
     embeddings), normalised embeddings and logits; metadata holds
     config.json and the recipe seed.

It also writes testdata/golden/siglip-preprocess.safetensors: the float32
pixel_values SiglipImageProcessor (torchvision backend, its defaults: resize
straight to 64x64, bicubic, rescale 1/255, mean/std 0.5) gives for a few test
images decoded with Pillow's convert("RGB"), and the same from its PIL
backend under "pil/".

SigLIP 2's fixed-resolution checkpoints are published in this SiglipModel
layout (model_type "siglip"), so these goldens cover them; Siglip2Model
(NaFlex, model_type "siglip2") has a different layout and is not covered.

Run from the repository root:
    /root/goclip-venv/bin/python tools/goldens/siglip.py
"""
import argparse
import copy
import json
import os
import sys

import numpy as np
import torch
import transformers
from transformers import SiglipConfig, SiglipModel
from transformers.models.siglip import modeling_siglip

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import recipe_tensor, write_safetensors  # noqa: E402


def eager_attention_native_softmax(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
    """transformers' eager_attention_forward with the softmax in the input dtype."""
    w = torch.matmul(query, key.transpose(-1, -2)) * scaling
    if attention_mask is not None:
        w = w + attention_mask
    w = torch.nn.functional.softmax(w, dim=-1, dtype=query.dtype)
    out = torch.matmul(w, value).transpose(1, 2).contiguous()
    return out, w


def config(text, vision):
    t = dict(vocab_size=1000, max_position_embeddings=16, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh",
             pad_token_id=1, eos_token_id=1, bos_token_id=None)
    t.update(text)
    v = dict(num_channels=3, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh")
    v.update(vision)
    return dict(model_type="siglip", text_config=t, vision_config=v)


MODELS = {
    # Text width differs from the vision width: the text head [32, 24]
    # projects onto the image embedding size.
    "tiny": (21, config(
        dict(hidden_size=24, intermediate_size=56, num_hidden_layers=2, num_attention_heads=3, projection_size=32),
        dict(hidden_size=32, intermediate_size=80, num_hidden_layers=2, num_attention_heads=4,
             image_size=32, patch_size=8))),
    # Three layers, a 48-pixel image of 3x3 patches, heads of 8.
    "tiny-odd": (22, config(
        dict(hidden_size=40, intermediate_size=72, num_hidden_layers=3, num_attention_heads=5, max_position_embeddings=12),
        dict(hidden_size=40, intermediate_size=72, num_hidden_layers=3, num_attention_heads=5,
             image_size=48, patch_size=16))),
    # image_size not a multiple of patch_size (as so400m-patch14-384): the
    # convolution covers 4x4 patches of 8 and drops the last 6 pixels.
    "tiny-remainder": (23, config(
        dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2),
        dict(hidden_size=16, intermediate_size=40, num_hidden_layers=2, num_attention_heads=2,
             image_size=38, patch_size=8))),
}


def token_ids(rng, vocab, length, n):
    """n id rows as SiglipTokenizer(padding="max_length", truncation=True)
    gives them: text ids, EOS (1), then the pad id (1) up to length; one row
    truncated (no EOS), one empty text (EOS only)."""
    rows = []
    for i, k in enumerate([3, 7, 0, length + 5, 1, length - 1]):
        ids = list(rng.integers(2, vocab, size=k))
        ids = (ids + [1])[:length]
        rows.append(ids + [1] * (length - len(ids)))
    return np.array(rows[:n], np.int64)


def run(model, dtype, pixels, ids):
    m = model.to(dtype)
    px = torch.tensor(pixels).to(dtype)
    ids = torch.tensor(ids)
    npy = lambda t: t.detach().numpy().astype(np.float64 if dtype == torch.float64 else np.float32)
    modeling_siglip.eager_attention_forward = (eager_attention_native_softmax if dtype == torch.float64
                                               else ORIGINAL_ATTENTION)
    with torch.no_grad():
        vo = m.vision_model(pixel_values=px, output_hidden_states=True)
        to = m.text_model(input_ids=ids, output_hidden_states=True)
        out = m(input_ids=ids, pixel_values=px)
    return {
        "image_embeds": npy(vo.pooler_output),
        "text_embeds": npy(to.pooler_output),
        "image_embeds_norm": npy(out.image_embeds),
        "text_embeds_norm": npy(out.text_embeds),
        "logits_per_image": npy(out.logits_per_image),
        "vision_last": npy(vo.last_hidden_state),  # after post_layernorm
        "text_last": npy(to.last_hidden_state),  # after final_layer_norm
        "vision_hidden": np.stack([npy(h) for h in vo.hidden_states]),
        "text_hidden": np.stack([npy(h) for h in to.hidden_states]),
    }


ORIGINAL_ATTENTION = modeling_siglip.eager_attention_forward


def model_goldens(out_dir):
    for name, (seed, cfgd) in MODELS.items():
        cfg = SiglipConfig(**copy.deepcopy(cfgd))
        cfg._attn_implementation = "eager"
        model = SiglipModel(cfg).eval()
        model.config._attn_implementation = "eager"
        for sub in (model.vision_model, model.text_model):
            sub.config._attn_implementation = "eager"
        weights = {k: torch.from_numpy(recipe_tensor(k, tuple(v.shape), seed))
                   for k, v in model.state_dict().items() if v.dtype == torch.float32}
        missing, unexpected = model.load_state_dict(weights, strict=False)
        assert not unexpected and all(k.endswith("position_ids") for k in missing), (missing, unexpected)
        s = cfg.vision_config.image_size
        rng = np.random.default_rng(seed)
        pixels = rng.uniform(-1, 1, size=(3, 3, s, s)).astype(np.float32)  # SigLIP's range
        ids = token_ids(rng, cfg.text_config.vocab_size, cfg.text_config.max_position_embeddings, 6)
        out = {"pixel_values": pixels, "input_ids": ids}
        for prefix, dt in (("f32_", torch.float32), ("f64_", torch.float64)):
            for k, v in run(model, dt, pixels, ids).items():
                if prefix == "f32_" and (k.endswith("_hidden") or k.endswith("_last")):
                    continue
                out[prefix + k] = v
        modeling_siglip.eager_attention_forward = ORIGINAL_ATTENTION
        meta = {
            "reference": f"transformers {transformers.__version__} SiglipModel eager attention, CPU, torch {torch.__version__}; "
                         "f32 = float32 run, f64 = float64 run (softmax in float64) of the same float32 weights",
            "config": json.dumps(cfgd),
            "seed": str(seed),
        }
        path = os.path.join(out_dir, f"siglip-{name}.safetensors")
        write_safetensors(path, out, meta)
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


PREPROCESS_IMAGES = ["astronaut_rgba.png", "camera_grey.png", "chelsea_small.png", "coffee_444.jpg", "rocket.bmp"]


def preprocess_goldens(out_dir, images):
    from PIL import Image
    from transformers import SiglipImageProcessor
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil
    kw = dict(size={"height": 64, "width": 64})
    fast, pil = SiglipImageProcessor(**kw), SiglipImageProcessorPil(**kw)
    out = {}
    for name in PREPROCESS_IMAGES:
        # Decoded as the project decodes (Pillow's convert("RGB"), which
        # drops alpha; transformers' own convert_rgb would composite RGBA on
        # white), as tools/goldens/images.py does for CLIP.
        with Image.open(os.path.join(images, name)) as f:
            im = f.convert("RGB")
        out["64/" + name] = fast(im, return_tensors="np")["pixel_values"][0].astype(np.float32)
        out["pil/64/" + name] = pil(im, return_tensors="np")["pixel_values"][0].astype(np.float32)
    meta = {"reference": f"transformers {transformers.__version__} SiglipImageProcessor (torchvision backend) and "
                         "SiglipImageProcessorPil, size 64x64, other fields default",
            "config": json.dumps(fast.to_dict(), default=str)}
    path = os.path.join(out_dir, "siglip-preprocess.safetensors")
    write_safetensors(path, out, meta)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="testdata/golden")
    ap.add_argument("--images", default="testdata/images")
    args = ap.parse_args()
    torch.manual_seed(0)
    model_goldens(args.out)
    preprocess_goldens(args.out, args.images)


if __name__ == "__main__":
    main()
