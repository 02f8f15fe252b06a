#!/usr/bin/env python3
"""Golden outputs of transformers' CLIPModel on small synthetic-weight models.

For each model below this script
  1. builds the weights with its own numpy implementation of the project's
     synthetic-weight recipe (the Go one is synth/; both must agree bit for
     bit, which the Go golden test checks implicitly by regenerating them),
  2. tokenizes a fixed list of texts with transformers' CLIPTokenizer (vocab
     built from the MIT-licensed bpe_simple_vocab_16e6.txt.gz, exactly as
     the files of every Hugging Face CLIP repository),
  3. runs CLIPModel (eager attention, CPU) in float32 and in float64 (the
     same float32 weights cast up), and
  4. writes testdata/golden/<model>.safetensors with the inputs, per-layer
     hidden states, pooled outputs, embeddings and logits; the model's
     config.json and seed are in the file's metadata, so the Go test can
     regenerate the weights.

Run from the repository root:
    /root/goclip-venv/bin/python tools/goldens/models.py
"""
import argparse
import copy
import gzip
import json
import os
import struct
import tempfile

import numpy as np
import torch
import transformers
from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

# ---- the synthetic-weight recipe (independent numpy implementation) -------
M1, M2, M3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
MASK = (1 << 64) - 1


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def scale_for(name):
    if name == "logit_scale":
        return 4.6052, 0.0
    if name == "logit_bias":  # SigLIP
        return -10.0, 0.0
    if name.endswith(".weight") and name[:-len(".weight")].rsplit(".", 1)[-1].startswith("ln_"):
        return 1.0, 0.25  # OpenCLIP's ln_1, ln_2, ln_pre, ln_post, ln_final
    for suf in ("layer_norm1.weight", "layer_norm2.weight", "layernorm.weight", "layrnorm.weight",
                "final_layer_norm.weight"):
        if name.endswith(suf):
            return 1.0, 0.25
    if name.endswith(".bias"):
        return (0.0, 0.1) if "norm" in name else (0.0, 0.05)
    for key, a in (("class_embedding", 0.5), ("token_embedding", 0.08), ("position_embedding", 0.03),
                   ("patch_embedding", 0.035), ("q_proj", 0.12), ("k_proj", 0.12), ("fc1", 0.06)):
        if key in name:
            return 0.0, a
    return 0.0, 0.035


def recipe_tensor(name, shape, seed):
    n = int(np.prod(shape)) if len(shape) else 1
    c, a = scale_for(name)
    if a == 0.0:
        return np.full(shape, c, dtype=np.float32)
    base = np.uint64(fnv1a64(name) ^ ((seed * 0x5851F42D4C957F2D) & MASK))
    with np.errstate(over="ignore"):
        z = base + np.arange(1, n + 1, dtype=np.uint64) * M1
        z = (z ^ (z >> np.uint64(30))) * M2
        z = (z ^ (z >> np.uint64(27))) * M3
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float64) / float(1 << 24)
    return (c + a * (u * 2.0 - 1.0)).astype(np.float32).reshape(shape)


# ---- models ----------------------------------------------------------------
def config(text, vision, proj):
    t = dict(vocab_size=49408, max_position_embeddings=77, layer_norm_eps=1e-5, pad_token_id=1,
             bos_token_id=49406, projection_dim=proj)
    t.update(text)
    v = dict(num_channels=3, layer_norm_eps=1e-5, projection_dim=proj)
    v.update(vision)
    return dict(text_config=t, vision_config=v, projection_dim=proj, logit_scale_init_value=2.6592)


MODELS = {
    # quick_gelu with the 2021 legacy pooling rule (eos_token_id 2: the
    # position of the highest token id), like openai/clip-vit-base-patch32.
    "tiny-quick-legacy": (11, config(
        dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             hidden_act="quick_gelu", eos_token_id=2),
        dict(hidden_size=32, intermediate_size=80, num_hidden_layers=2, num_attention_heads=2,
             image_size=32, patch_size=8, hidden_act="quick_gelu"), 16)),
    # exact gelu, first-EOS pooling, odd sizes (3 heads of 8, 3 layers, a
    # 48-pixel image of 3×3 patches, an MLP width that is not a power of 2).
    "tiny-gelu-eos": (12, config(
        dict(hidden_size=24, intermediate_size=56, num_hidden_layers=3, num_attention_heads=3,
             hidden_act="gelu", eos_token_id=49407),
        dict(hidden_size=40, intermediate_size=72, num_hidden_layers=3, num_attention_heads=5,
             image_size=48, patch_size=16, hidden_act="gelu"), 20)),
    # The 2021 config layouts: omitted fields take transformers' defaults
    # (quick_gelu, eps 1e-5, vocab 49408, 77 positions, 3 channels), legacy
    # pooling (eos_token_id 2, bos 0) as in openai/clip-vit-base-patch32,
    # and a non-null text_config_dict, which transformers expands with the
    # defaults and lets override every field of text_config.
    "tiny-2021-layout": (13, {
        "projection_dim": 16,
        "text_config": {"hidden_size": 999, "num_hidden_layers": 7, "hidden_act": "gelu"},
        "text_config_dict": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3,
                             "num_attention_heads": 4, "eos_token_id": 2, "bos_token_id": 0},
        "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                          "num_attention_heads": 4, "image_size": 32, "patch_size": 16},
        "vision_config_dict": None,
    }),
}

TEXTS = [
    "a photo of a cat",
    "A Photo Of A DOG!!",
    "café & crème brûlée — 東京 🍣",
    "  odd\twhitespace\n\nand &amp; entities  ",
    "<|startoftext|> special <|endoftext|> tokens",
    "x",
    "",
    " ".join(["word"] * 100),  # longer than 77 tokens: truncated, EOS kept
]


def tokenizer(vocab_gz, work):
    """CLIPTokenizer from vocab.json/merges.txt built from the BPE file."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    byte_chars = [chr(c) for c in cs]
    merges = gzip.open(vocab_gz).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    merges = [tuple(m.split()) for m in merges]
    vocab = byte_chars + [v + "</w>" for v in byte_chars] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    with open(os.path.join(work, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({v: i for i, v in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(work, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    return CLIPTokenizer(os.path.join(work, "vocab.json"), os.path.join(work, "merges.txt"))


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    dt = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int64): "I64", np.dtype(np.uint8): "U8"}
    off, blobs = 0, []
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k])
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[k] = {"dtype": dt[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def run(model, dtype, pixels, ids, mask):
    m = model.to(dtype)
    px = torch.tensor(pixels).to(dtype)
    ids, mask = torch.tensor(ids), torch.tensor(mask)
    npy = lambda t: t.numpy().astype(np.float64 if dtype == torch.float64 else np.float32)
    with torch.no_grad():
        # In transformers 5, CLIPModel outputs carry projected embeddings as
        # pooler_output; the towers give the unprojected pooled outputs.
        vo = m.vision_model(pixel_values=px, output_hidden_states=True)
        to = m.text_model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        img = m.get_image_features(pixel_values=px)
        txt = m.get_text_features(input_ids=ids, attention_mask=mask)
        out = m(input_ids=ids, attention_mask=mask, pixel_values=px)
    return {
        "image_embeds": npy(getattr(img, "pooler_output", img)),
        "text_embeds": npy(getattr(txt, "pooler_output", txt)),
        "image_embeds_norm": npy(out.image_embeds),
        "text_embeds_norm": npy(out.text_embeds),
        "logits_per_image": npy(out.logits_per_image),
        "vision_pooled": npy(vo.pooler_output),
        "text_pooled": npy(to.pooler_output),
        "vision_hidden": np.stack([npy(h) for h in vo.hidden_states]),
        "text_hidden": np.stack([npy(h) for h in to.hidden_states]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", default="tokenizer/bpe_simple_vocab_16e6.txt.gz")
    ap.add_argument("--out", default="testdata/golden")
    args = ap.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as work:
        tok = tokenizer(args.vocab, work)
        enc = tok(TEXTS, padding="max_length", max_length=77, truncation=True)
    ids, mask = np.array(enc["input_ids"], np.int64), np.array(enc["attention_mask"], np.int64)
    for name, (seed, cfgd) in MODELS.items():
        cfg = CLIPConfig(**copy.deepcopy(cfgd))  # CLIPConfig updates the dicts in place
        if "text_config_dict" in cfgd:
            t = cfg.text_config
            assert (t.hidden_size, t.num_hidden_layers, t.hidden_act, t.eos_token_id) == (32, 3, "quick_gelu", 2)
        model = CLIPModel(cfg).eval()
        model.config._attn_implementation = "eager"
        sd = model.state_dict()
        weights = {}
        for k, v in sd.items():
            if v.dtype == torch.float32:
                weights[k] = torch.from_numpy(recipe_tensor(k, tuple(v.shape), seed))
        missing, unexpected = model.load_state_dict(weights, strict=False)
        assert not unexpected and all(k.endswith("position_ids") for k in missing), (missing, unexpected)
        s = cfg.vision_config.image_size
        rng = np.random.default_rng(seed)
        # Pixel values in the range CLIPImageProcessor produces.
        pixels = rng.uniform(-1.79, 2.15, size=(4, 3, s, s)).astype(np.float32)
        out = {"pixel_values": pixels, "input_ids": ids, "attention_mask": mask}
        for prefix, dt in (("f32_", torch.float32), ("f64_", torch.float64)):
            for k, v in run(model, dt, pixels, ids, mask).items():
                if prefix == "f32_" and k.endswith("_hidden"):
                    continue  # only the float64 hidden states, to keep the file small
                out[prefix + k] = v
        meta = {
            "reference": f"transformers {transformers.__version__} CLIPModel eager attention, CPU, torch {torch.__version__}; "
                         "f32 = float32 run, f64 = float64 run of the same float32 weights",
            "config": json.dumps(cfgd),
            "seed": str(seed),
            "texts": json.dumps(TEXTS, ensure_ascii=False),
        }
        path = os.path.join(args.out, name + ".safetensors")
        write_safetensors(path, out, meta)
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
