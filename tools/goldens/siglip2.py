#!/usr/bin/env python3
"""Golden outputs of transformers' Siglip2Model (NaFlex) and Siglip2ImageProcessor.

For each model in MODELS this script
  1. builds the weights with the project's synthetic-weight recipe
     (recipe_tensor of models.py, the numpy twin of the Go package synth),
  2. runs Siglip2Model (eager attention, CPU) in float32 and in float64 (the
     same float32 weights cast up) on random patchified pixel values of
     several spatial shapes (odd ones; most padded to max_num_patches with
     pixel_attention_mask 0, one exactly full) and on token ids padded to
     the text tower's max_position_embeddings. For the float64 run the
     attention softmax (transformers: float32 whatever the dtype) and the
     position-embedding resize (transformers: float32 weights and product)
     are replaced by the same code in float64,
  3. writes testdata/golden/siglip2-<model>.safetensors: inputs, per-layer
     float64 hidden states (vision; text only for "tiny": the text tower is
     SigLIP's), pooled outputs, normalised embeddings, logits;
     for "tiny-odd" also the processor's output on test images (patch 8,
     max_num_patches 30) and texts through the SigLIP 2 Gemma tokenizer of
     testdata/sentencepiece/siglip2 (padded to 64 as Siglip2Processor does)
     with their embeddings; metadata holds config.json and the seed.

The text tower is run without attention_mask: transformers' conversion
script saves the NaFlex tokenizer with model_input_names ["input_ids"]
("the original one doesn't require it"), so Siglip2Processor gives no mask.

It also writes
  - siglip2-posembed.safetensors: the resize weights of
    Siglip2VisionEmbeddings.resize_positional_embeddings (float32, obtained
    exactly by resizing an identity grid), and the same from
    F.interpolate(bilinear, align_corners=False, antialias=True), for
    several grids and odd target shapes;
  - siglip2-preprocess.safetensors: Siglip2ImageProcessor (torchvision
    backend) on test images decoded with Pillow's convert("RGB"): the 8-bit
    levels of each patch ([patches, P*P*3] in the processor's (y, x, c)
    order) and the spatial shape, for (patch 16, max 256: the checkpoint's
    defaults) and (patch 8, max 30). The float32 pixel_values are not
    stored: the script asserts they are (float32(level) - 127.5) / 127.5
    in float32 (the fused rescale+normalise) and 0 in the padding.

Run from the repository root (about a minute):
    /root/goclip-venv/bin/python tools/goldens/siglip2.py
"""
import argparse
import copy
import json
import os
import sys

import numpy as np
import torch
import transformers
from transformers import Siglip2Config, Siglip2Model
from transformers.models.siglip2 import modeling_siglip2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import recipe_tensor, write_safetensors  # noqa: E402
from siglip import eager_attention_native_softmax  # noqa: E402


def resize_positional_embeddings_f64(positional_embeddings, spatial_shapes, max_length):
    """Siglip2VisionEmbeddings.resize_positional_embeddings in float64."""
    grid = positional_embeddings.shape[0]
    dt = torch.float64
    sizes = spatial_shapes.to(dt)[:, None]
    positions = torch.arange(max_length, dtype=dt)[None, :, None]
    rows = torch.div(positions, sizes[..., 1:], rounding_mode="floor")
    index = torch.cat([rows, positions - rows * sizes[..., 1:]], dim=-1)
    index = index * (positions < sizes.prod(-1, keepdim=True))
    scale = grid / sizes
    support = scale.clamp(min=1)
    center = (index + 0.5) * scale - 0.5
    source = torch.arange(grid, dtype=dt)
    w = (1 - (source - center[..., None]).abs().div(support[..., None])).clamp(min=0)
    w = w / w.sum(-1, keepdim=True)
    w = (w[..., 0, :, None] * w[..., 1, None, :]).flatten(-2)
    return (w @ positional_embeddings.reshape(-1, positional_embeddings.shape[-1]).to(dt)).to(positional_embeddings.dtype)


ORIGINAL_ATTENTION = modeling_siglip2.eager_attention_forward
ORIGINAL_RESIZE = modeling_siglip2.Siglip2VisionEmbeddings.resize_positional_embeddings


def config(text, vision):
    t = dict(vocab_size=1000, max_position_embeddings=16, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh",
             pad_token_id=0, eos_token_id=1, bos_token_id=2)
    t.update(text)
    v = dict(num_channels=3, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh")
    v.update(vision)
    return dict(model_type="siglip2", text_config=t, vision_config=v)


MODELS = {
    # A 4x4 position grid, patches of 4 pixels, 16 patches per image.
    "tiny": (31, config(
        dict(hidden_size=24, intermediate_size=56, num_hidden_layers=2, num_attention_heads=3, projection_size=32),
        dict(hidden_size=32, intermediate_size=80, num_hidden_layers=2, num_attention_heads=4,
             patch_size=4, num_patches=16)),
     16, [(4, 4), (3, 5), (2, 7), (1, 1), (1, 13), (5, 3)]),
    # A 5x5 grid, patches of 8, up to 30 patches (more than the grid), the
    # text tower at SigLIP 2's 64 positions over the test Gemma vocabulary.
    "tiny-odd": (32, config(
        dict(hidden_size=40, intermediate_size=72, num_hidden_layers=3, num_attention_heads=5,
             max_position_embeddings=64, vocab_size=1500),
        dict(hidden_size=40, intermediate_size=72, num_hidden_layers=3, num_attention_heads=5,
             patch_size=8, num_patches=25)),
     30, [(5, 6), (3, 7), (1, 1), (6, 4), (2, 9)]),
}

FILE_IMAGES = ["coffee_444.jpg", "chelsea_small.png", "rocket.bmp", "camera_grey.png", "hubble_large.jpg"]
TEXTS = ["a photo of a cat", "A Photo of a DOG.", "", "an astronaut riding a horse on the moon, digital art " * 4,
         "¿Qué? 東京 naïve café"]


def token_ids(rng, vocab, length, n):
    """n id rows as the Gemma tokenizer (padding max_length, right) gives
    them: text ids, EOS (1), then pad (0); one row truncated (EOS kept)."""
    rows = []
    for k in [3, 7, 0, length + 5, 1, length - 1][:n]:
        ids = list(rng.integers(5, vocab, size=k))[:length - 1] + [1]
        rows.append(ids + [0] * (length - len(ids)))
    return np.array(rows, np.int64)


def patch_inputs(rng, shapes, max_len, dim):
    px = np.zeros((len(shapes), max_len, dim), np.float32)
    mask = np.zeros((len(shapes), max_len), np.int64)
    for i, (h, w) in enumerate(shapes):
        px[i, :h * w] = rng.uniform(-1, 1, size=(h * w, dim))
        mask[i, :h * w] = 1
    return px, mask, np.array(shapes, np.int64)


def use_f64(on):
    modeling_siglip2.eager_attention_forward = eager_attention_native_softmax if on else ORIGINAL_ATTENTION
    modeling_siglip2.Siglip2VisionEmbeddings.resize_positional_embeddings = staticmethod(
        resize_positional_embeddings_f64 if on else ORIGINAL_RESIZE)


def run(m, dtype, inputs):
    px, mask, shapes, ids = inputs
    npy = lambda t: t.detach().numpy().astype(np.float64 if dtype == torch.float64 else np.float32)
    use_f64(dtype == torch.float64)
    px, mask, shapes, ids = torch.tensor(px).to(dtype), torch.tensor(mask), torch.tensor(shapes), torch.tensor(ids)
    with torch.no_grad():
        vo = m.vision_model(pixel_values=px, pixel_attention_mask=mask, spatial_shapes=shapes, output_hidden_states=True)
        to = m.text_model(input_ids=ids, output_hidden_states=True)
        out = m(input_ids=ids, pixel_values=px, pixel_attention_mask=mask, spatial_shapes=shapes)
    use_f64(False)
    return {
        "image_embeds": npy(vo.pooler_output),
        "text_embeds": npy(to.pooler_output),
        "image_embeds_norm": npy(out.image_embeds),
        "text_embeds_norm": npy(out.text_embeds),
        "logits_per_image": npy(out.logits_per_image),
        "vision_hidden": np.stack([npy(h) for h in vo.hidden_states]),
        "text_hidden": np.stack([npy(h) for h in to.hidden_states]),
    }


def build(seed, cfgd):
    cfg = Siglip2Config(**copy.deepcopy(cfgd))
    cfg._attn_implementation = "eager"
    model = Siglip2Model(cfg).eval()
    for sub in (model, model.vision_model, model.text_model):
        sub.config._attn_implementation = "eager"
    weights = {k: torch.from_numpy(recipe_tensor(k, tuple(v.shape), seed))
               for k, v in model.state_dict().items() if v.dtype == torch.float32}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    assert not unexpected and all(k.endswith("position_ids") for k in missing), (missing, unexpected)
    return cfg, model


def file_inputs(images_dir, patch, max_len):
    """Siglip2Processor's image and text outputs for FILE_IMAGES and TEXTS."""
    from PIL import Image
    from transformers import AutoTokenizer, Siglip2ImageProcessor, Siglip2Processor
    tok = AutoTokenizer.from_pretrained("testdata/sentencepiece/siglip2")
    proc = Siglip2Processor(Siglip2ImageProcessor(patch_size=patch, max_num_patches=max_len), tok)
    ims = []
    for name in FILE_IMAGES:
        with Image.open(os.path.join(images_dir, name)) as f:
            ims.append(f.convert("RGB"))
    b = proc(text=TEXTS, images=ims, images_kwargs=dict(patch_size=patch, max_num_patches=max_len), return_tensors="np")
    return (b["pixel_values"].astype(np.float32), b["pixel_attention_mask"].astype(np.int64),
            b["spatial_shapes"].astype(np.int64), b["input_ids"].astype(np.int64))


def model_goldens(out_dir, images_dir):
    for name, (seed, cfgd, max_len, shapes) in MODELS.items():
        cfg, model = build(seed, cfgd)
        v = cfg.vision_config
        rng = np.random.default_rng(seed)
        px, mask, sh = patch_inputs(rng, shapes, max_len, v.num_channels * v.patch_size ** 2)
        ids = token_ids(rng, cfg.text_config.vocab_size, cfg.text_config.max_position_embeddings, 6)
        out = {"pixel_values": px, "pixel_attention_mask": mask, "spatial_shapes": sh, "input_ids": ids}
        sets = [("", (px, mask, sh, ids))]
        if name == "tiny-odd":
            fpx, fmask, fsh, fids = file_inputs(images_dir, v.patch_size, max_len)
            out.update({"files/pixel_values": fpx, "files/spatial_shapes": fsh, "files/input_ids": fids})
            sets.append(("files/", (fpx, fmask, fsh, fids)))
        for prefix, dt in (("f32_", torch.float32), ("f64_", torch.float64)):
            m = model.to(dt)
            for set_prefix, inputs in sets:
                for k, val in run(m, dt, inputs).items():
                    skip = prefix == "f32_" or set_prefix or (name == "tiny-odd" and k.startswith("text_"))
                    if skip and k.endswith("_hidden"):
                        continue
                    out[set_prefix + prefix + k] = val
        meta = {
            "reference": f"transformers {transformers.__version__} Siglip2Model eager attention, CPU, torch {torch.__version__}; "
                         "f32 = float32 run, f64 = float64 run (softmax and position resize in float64) of the same float32 weights",
            "config": json.dumps(cfgd),
            "seed": str(seed),
            "max_num_patches": str(max_len),
        }
        if name == "tiny-odd":
            meta["files"] = json.dumps(FILE_IMAGES)
            meta["texts"] = json.dumps(TEXTS)
        path = os.path.join(out_dir, f"siglip2-{name}.safetensors")
        write_safetensors(path, out, meta)
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


POSEMBED_CASES = {4: [(4, 4), (3, 5), (2, 7), (1, 13), (5, 3), (9, 1)], 5: [(5, 6), (3, 7), (6, 4), (2, 9), (11, 3)],
                  16: [(16, 16), (3, 5), (1, 16), (9, 2), (21, 12), (40, 6)]}


def posembed_goldens(out_dir):
    """Per grid and target shape: the float32 resize weights of
    transformers' function (exact: it resizes an identity grid; small cases
    only), and for a random [g, g, 4] grid the outputs of transformers'
    function, of its float64 twin and of F.interpolate."""
    import torch.nn.functional as F
    out = {}
    rng = np.random.default_rng(5)
    for g, shapes in POSEMBED_CASES.items():
        eye = torch.eye(g * g, dtype=torch.float32).reshape(g, g, g * g)
        grid = torch.tensor(rng.uniform(-1, 1, size=(g, g, 4)).astype(np.float32))
        out[f"{g}/grid"] = grid.numpy()
        for h, w in shapes:
            sh, key = torch.tensor([[h, w]]), f"{g}/{h}x{w}"
            if h * w * g * g <= 8000:
                out[key + "/weights"] = ORIGINAL_RESIZE(eye, sh, max_length=h * w)[0].numpy()  # [h*w, g*g]
            out[key + "/transformers"] = ORIGINAL_RESIZE(grid, sh, max_length=h * w)[0].numpy()
            out[key + "/f64"] = resize_positional_embeddings_f64(grid.double(), sh, max_length=h * w)[0].numpy()
            fi = F.interpolate(grid.permute(2, 0, 1)[None], size=(h, w), mode="bilinear", align_corners=False,
                               antialias=True)[0].reshape(4, h * w).T
            out[key + "/interpolate"] = fi.numpy()
            d = float((torch.tensor(out[key + "/transformers"]) - fi).abs().max())
            print(f"grid {g} -> {h}x{w}: transformers vs F.interpolate max |d| {d:.3g}")
    path = os.path.join(out_dir, "siglip2-posembed.safetensors")
    write_safetensors(path, out, {"reference": f"transformers {transformers.__version__} Siglip2VisionEmbeddings."
                                               f"resize_positional_embeddings and torch {torch.__version__} F.interpolate"})
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


PREPROCESS = {16: (256, ["coffee_444.jpg", "chelsea_small.png"]),
              -16: (64, ["hubble_large.jpg", "camera_grey.png", "rocket.bmp"]),
              8: (30, ["coffee_444.jpg", "chelsea_small.png", "rocket.bmp", "camera_grey.png", "hubble_large.jpg",
                       "rocket_progressive.jpg", "coffee_odd.q60.webp", "astronaut.q75.webp"])}


def preprocess_goldens(out_dir, images_dir):
    from PIL import Image
    from transformers import Siglip2ImageProcessor
    out = {}
    for patch, (max_len, names) in PREPROCESS.items():
        patch = abs(patch)
        proc = Siglip2ImageProcessor(patch_size=patch, max_num_patches=max_len)
        for name in names:
            with Image.open(os.path.join(images_dir, name)) as f:
                im = f.convert("RGB")
            b = proc(im, return_tensors="np")
            px, mask, sh = b["pixel_values"][0], b["pixel_attention_mask"][0], b["spatial_shapes"][0]
            n = int(sh[0] * sh[1])
            assert px.dtype == np.float32 and px.shape == (max_len, patch * patch * 3), px.shape
            assert mask[:n].all() and not mask[n:].any() and not px[n:].any()
            lv = np.rint(px[:n].astype(np.float64) * 127.5 + 127.5)
            assert lv.min() >= 0 and lv.max() <= 255
            lv = lv.astype(np.uint8)
            again = (lv.astype(np.float32) - np.float32(127.5)) / np.float32(127.5)
            assert np.array_equal(again, px[:n]), name
            out[f"{patch}x{max_len}/{name}"] = lv
            out[f"{patch}x{max_len}/{name}/shape"] = sh.astype(np.int64)
    path = os.path.join(out_dir, "siglip2-preprocess.safetensors")
    write_safetensors(path, out, {"reference": f"transformers {transformers.__version__} Siglip2ImageProcessor "
                                               "(torchvision backend), Image.open(f).convert('RGB')"})
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="testdata/golden")
    ap.add_argument("--images", default="testdata/images")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    posembed_goldens(args.out)
    preprocess_goldens(args.out, args.images)
    model_goldens(args.out, args.images)


if __name__ == "__main__":
    main()
