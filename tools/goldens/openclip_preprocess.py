#!/usr/bin/env python3
"""Golden outputs of open_clip's eval image transform.

open_clip.image_transform_v2(PreprocessCfg(...), is_train=False) is what
open_clip.create_model_and_transforms returns for a checkpoint's
preprocess_cfg: torchvision transforms on the PIL image as Image.open gives
it (Resize / ResizeKeepRatio / CenterCrop / CenterCropOrPad with Pillow's
resize, then convert("RGB"), ToTensor, Normalize).

For every configuration in CONFIGS and every image it applies to, this
script stores the uint8 levels [3,S,S] of the transform's PIL output just
before ToTensor ("lv/<config>/<image>"), and asserts that the transform's
float32 output equals (float32(level) / 255 - float32(mean)) / float32(std)
computed in float32 bit for bit, so the levels determine it exactly. The
float32 outputs themselves are stored for the first image of each
configuration of at most 64 px ("px/<config>/<image>") so that the Go test also checks the
normalisation against torch's own numbers. Metadata "configs" holds the
PreprocessCfg of each configuration and its image list; "versions" the
library versions.

Run from the repository root (about 10 s):
    /root/goclip-venv/bin/python tools/goldens/openclip_preprocess.py
"""
import json
import os

import numpy as np
import open_clip
import PIL
import torch
import torchvision
from open_clip.transform import PreprocessCfg, image_transform_v2
from PIL import Image
from safetensors.numpy import save_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGES = os.path.join(ROOT, "testdata", "images")
OUT = os.path.join(ROOT, "testdata", "golden", "preprocess-openclip.safetensors")

OPENAI = {"mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711]}
HALF = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}

# A subset for the configurations other than the default: RGB downscaled and
# upscaled (chelsea_small is 40x27), odd sizes, grey, palette, alpha, CMYK.
SUBSET = ["chelsea_small.png", "coffee_444.jpg", "hubble_large.jpg", "coffee_odd.q60.webp", "camera_grey.png",
          "chelsea_palette_trns.png", "astronaut_rgba.png", "chelsea_cmyk.jpg", "gradient_grey16.png",
          "tiff_g4_blackiszero.tiff", "camera_la.png"]

CONFIGS = {
    # every test image with the default preprocess_cfg (OpenAI CLIP, DFN, MetaCLIP, LAION ViTs)
    "shortest-bicubic-48": (dict(size=48, **OPENAI), None),
    "shortest-bilinear-45": (dict(size=45, interpolation="bilinear", **OPENAI), SUBSET),
    "shortest-bicubic-224": (dict(size=224, **OPENAI), ["chelsea_small.png", "hubble_large.jpg"]),
    "squash-bicubic-40": (dict(size=40, resize_mode="squash", **HALF), SUBSET),  # SigLIP in open_clip
    "squash-bilinear-33": (dict(size=33, resize_mode="squash", interpolation="bilinear", **HALF), SUBSET),
    "longest-bicubic-41": (dict(size=41, resize_mode="longest", **OPENAI), SUBSET),
    "longest-bilinear-36-fill": (dict(size=36, resize_mode="longest", interpolation="bilinear", fill_color=200,
                                      **OPENAI), SUBSET),
}


def levels_and_output(cfg, path):
    t = image_transform_v2(PreprocessCfg(**cfg), is_train=False)
    steps = t.transforms
    assert type(steps[-1]).__name__ == "Normalize" and type(steps[-2]).__name__ == "MaybeToTensor", steps
    with Image.open(path) as im:
        pil = im
        for s in steps[:-2]:
            pil = s(pil)
        assert pil.mode == "RGB", pil.mode
        lv = np.asarray(pil).transpose(2, 0, 1).copy()
    with Image.open(path) as im:
        px = t(im).numpy()
    mean = np.asarray(cfg["mean"], np.float32)[:, None, None]
    std = np.asarray(cfg["std"], np.float32)[:, None, None]
    mine = (lv.astype(np.float32) / np.float32(255) - mean) / std
    assert mine.dtype == np.float32 and px.dtype == np.float32
    assert np.array_equal(mine.view(np.uint32), px.view(np.uint32)), path
    return lv, px


def main():
    names = sorted(f for f in os.listdir(IMAGES) if not f.endswith(".md"))
    tensors, meta = {}, {}
    for cid, (cfg, subset) in CONFIGS.items():
        imgs = names if subset is None else subset
        for i, name in enumerate(imgs):
            lv, px = levels_and_output(cfg, os.path.join(IMAGES, name))
            tensors[f"lv/{cid}/{name}"] = lv
            if i == 0 and cfg["size"] <= 64:
                tensors[f"px/{cid}/{name}"] = px
        meta[cid] = {"cfg": cfg, "images": imgs}
    versions = {"open_clip": open_clip.__version__, "torch": torch.__version__,
                "torchvision": torchvision.__version__, "pillow": PIL.__version__}
    save_file(tensors, OUT, metadata={"configs": json.dumps(meta), "versions": json.dumps(versions)})
    print(OUT, len(tensors), "tensors,", os.path.getsize(OUT), "bytes", versions)


if __name__ == "__main__":
    main()
