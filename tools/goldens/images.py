#!/usr/bin/env python3
"""Test images and image goldens for goclip's imageproc package.

Two steps (see testdata/images/README.md and testdata/golden/README.md):

  images.py make-images --skimage DIR   # DIR = skimage/data of Debian's python3-skimage
  images.py goldens                     # Pillow decodes + CLIPImageProcessor outputs

make-images derives small variants (JPEG 4:2:0/4:2:2/4:4:4/progressive/grey/CMYK,
PNG grey/grey+alpha/palette+transparency/RGBA/16-bit, GIF, BMP, TIFF, WebP lossy,
lossy+alpha and lossless via Debian's cwebp) from the scikit-image photos and
writes them to testdata/images. goldens writes, for every file there:

  testdata/golden/decoded/<name>.png       Pillow's Image.open(f).convert("RGB"),
                                           stored losslessly as 8-bit RGB PNG
  testdata/golden/preprocess64.safetensors "64/<name>": uint8 [3,64,64] resized+cropped levels that
                                           CLIPImageProcessor (transformers 5, torchvision backend)
                                           normalises; "pil64/<name>": the same from its PIL backend
                                           (transformers-4 style); "cfg/<id>/<name>": float32
                                           outputs for the other configurations in CONFIGS
                                           (metadata "configs"), on three lossless images
  testdata/golden/preprocess224/<name>.png the same levels at 224 as an RGB PNG (GOLDEN_224 only)

The float32 outputs are not stored: this script asserts, for every image and size, that
(float32(level) - float32(mean)*255) / (float32(std)*255) in float32 reproduces the processor's
float32 pixel_values bit for bit, so the levels determine them exactly at a quarter of the size.
"""
import argparse
import io
import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGES = os.path.join(ROOT, "testdata", "images")
GOLDEN = os.path.join(ROOT, "testdata", "golden")

MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]

# Images that also get a 224 golden (the rest only 64, to keep testdata small): the
# ones at least 224 px on the short side (downsampled) plus upsampled, palette and 4:2:0 cases.
# Extra configurations (preprocessor_config.json fields) checked on lossless
# images, float32 outputs stored as they are.
CONFIGS = {
    "pad": {"size": {"shortest_edge": 40}, "crop_size": {"height": 48, "width": 48}},
    "square": {"size": {"height": 32, "width": 32}, "do_center_crop": False},
    "nocrop_rescale_only": {"size": {"height": 24, "width": 24}, "do_center_crop": False, "do_normalize": False},
    "noresize": {"do_resize": False, "crop_size": {"height": 20, "width": 20}, "image_mean": [0.5, 0.5, 0.5],
                 "image_std": [0.25, 0.5, 0.125], "rescale_factor": 0.5},
}

GOLDEN_224 = {"astronaut.q75.webp", "camera_grey.jpg", "hubble_large.jpg", "rocket_progressive.jpg",
              "chelsea_small.png", "coffee_420.jpg", "chelsea_palette_trns.png", "coffee_lossless.webp"}


def fit(im, w):
    """Downscale to width w with Pillow's Lanczos (source photos only)."""
    h = round(im.height * w / im.width)
    return im.resize((w, h), Image.LANCZOS)


def write_png16(path, arr):
    """Writes a 16-bit RGB PNG (Pillow cannot write 16-bit RGB)."""
    h, w, c = arr.shape
    assert c == 3 and arr.dtype == np.uint16
    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def make_images(skimage):
    os.makedirs(IMAGES, exist_ok=True)
    src = lambda n: Image.open(os.path.join(skimage, n))
    coffee = fit(src("coffee.png").convert("RGB"), 258)  # 258x172: upsampled at 224
    rocket = fit(src("rocket.jpg").convert("RGB"), 400)  # 400x267
    astro = fit(src("astronaut.png").convert("RGB"), 256)  # 256x256
    camera = fit(src("camera.png").convert("L"), 240)  # 240x240 grey
    chelsea = fit(src("chelsea.png").convert("RGB"), 300)  # 300x200
    hubble = fit(src("hubble_deep_field.jpg").convert("RGB").crop((0, 100, 1000, 700)), 451)  # 451x271, odd width
    out = lambda n: os.path.join(IMAGES, n)

    coffee.save(out("coffee_420.jpg"), quality=85, subsampling=2)
    coffee.save(out("coffee_422.jpg"), quality=85, subsampling=1)
    coffee.save(out("coffee_444.jpg"), quality=90, subsampling=0)
    rocket.save(out("rocket_progressive.jpg"), quality=80, progressive=True)
    camera.save(out("camera_grey.jpg"), quality=85)
    chelsea.convert("CMYK").save(out("chelsea_cmyk.jpg"), quality=90)
    hubble.save(out("hubble_large.jpg"), quality=70)

    camera.resize((120, 120), Image.LANCZOS).save(out("camera_grey.png"))
    la = Image.merge("LA", [camera.resize((96, 96)), Image.linear_gradient("L").resize((96, 96))])
    la.save(out("camera_la.png"))
    pal = chelsea.resize((150, 100), Image.LANCZOS).quantize(colors=64)
    pal.info["transparency"] = 3
    pal.save(out("chelsea_palette_trns.png"), transparency=3)
    rgba = astro.resize((128, 128), Image.LANCZOS).convert("RGBA")
    a = np.array(rgba)
    a[..., 3] = np.linspace(0, 255, 128, dtype=np.uint8)[None, :]
    a[:16, :16, 3] = 0  # fully transparent corner: RGB must still come through
    Image.fromarray(a, "RGBA").save(out("astronaut_rgba.png"))
    rgb16 = (np.array(coffee.resize((84, 56), Image.LANCZOS)).astype(np.uint16) * 257)
    rgb16 += np.arange(84, dtype=np.uint16)[None, :, None]  # low bytes that must be dropped
    write_png16(out("coffee_rgb16.png"), rgb16)
    g16 = (np.arange(64 * 48, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    Image.fromarray(g16, "I;16").save(out("gradient_grey16.png"))  # values above 255: Pillow clips
    chelsea.resize((40, 27), Image.LANCZOS).save(out("chelsea_small.png"))  # upsampled at 64 and 224

    frames = [chelsea.resize((120, 80)).quantize(colors=32), coffee.resize((120, 80)).quantize(colors=32)]
    frames[0].save(out("chelsea_anim.gif"), save_all=True, append_images=frames[1:], duration=100, loop=0,
                   transparency=5)
    # A first frame smaller than the logical screen (Pillow fills the rest
    # with the transparent index): a 4x4 frame at (3,3) on a 10x10 screen,
    # made by patching Pillow's output.
    for tname, trns in (("gif_offset_frame.gif", None), ("gif_offset_frame_trns.gif", 3)):
        fr = Image.new("P", (4, 4), 1)
        fr.putpalette([10, 20, 30, 200, 100, 50, 5, 250, 5, 1, 2, 3] + [0] * (3 * 252))
        buf = io.BytesIO()
        fr.save(buf, format="GIF", optimize=False, **({"transparency": trns} if trns is not None else {}))
        b = bytearray(buf.getvalue())
        b[6:10] = struct.pack("<HH", 10, 10)
        i = b.index(b"\x2c\x00\x00\x00\x00\x04\x00\x04\x00")
        b[i + 1:i + 5] = struct.pack("<HH", 3, 3)
        with open(out(tname), "wb") as f:
            f.write(bytes(b))
    rocket.resize((200, 133), Image.LANCZOS).save(out("rocket.bmp"))
    coffee.resize((168, 112), Image.LANCZOS).save(out("coffee.tiff"), compression="tiff_lzw")

    tmp = "/tmp/goclip-images"
    os.makedirs(tmp, exist_ok=True)
    astro.save(os.path.join(tmp, "astro.png"))
    Image.fromarray(a, "RGBA").resize((160, 160)).save(os.path.join(tmp, "astro_rgba.png"))
    coffee.resize((201, 134), Image.LANCZOS).save(os.path.join(tmp, "coffee_small.png"))
    cw = lambda *args: subprocess.run(["cwebp", "-quiet", *args], check=True)
    cw("-q", "75", os.path.join(tmp, "astro.png"), "-o", out("astronaut.q75.webp"))
    cw("-q", "60", os.path.join(tmp, "coffee_small.png"), "-o", out("coffee_odd.q60.webp"))  # odd size
    cw("-q", "80", os.path.join(tmp, "astro_rgba.png"), "-o", out("astronaut_alpha.q80.webp"))
    cw("-lossless", os.path.join(tmp, "coffee_small.png"), "-o", out("coffee_lossless.webp"))
    cw("-lossless", "-exact", os.path.join(tmp, "astro_rgba.png"), "-o", out("astronaut_rgba_lossless.webp"))


def image_names():
    return sorted(n for n in os.listdir(IMAGES) if not n.upper().startswith(("README", "ATTRIBUTION")))


def save_png(path, arr):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(arr, "RGB").save(path, optimize=True)


def goldens():
    import torch
    from safetensors.numpy import save_file
    from transformers import CLIPImageProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tensors = {}
    meta = {}
    for name in image_names():
        with open(os.path.join(IMAGES, name), "rb") as f:
            im = Image.open(f)
            mode = im.mode
            rgb = im.convert("RGB")
        dec = np.asarray(rgb)
        save_png(os.path.join(GOLDEN, "decoded", name + ".png"), dec)
        meta[name] = {"mode": mode, "width": rgb.width, "height": rgb.height}
        for s in (64, 224):
            kw = dict(size={"shortest_edge": s}, crop_size={"height": s, "width": s})
            fast = CLIPImageProcessor(**kw)
            pil = CLIPImageProcessorPil(**kw)
            out = fast(images=rgb, return_tensors="np")["pixel_values"][0].astype(np.float32)
            outp = pil(images=rgb, return_tensors="np")["pixel_values"][0].astype(np.float32)
            lev = fast(images=rgb, return_tensors="pt", do_rescale=False, do_normalize=False)["pixel_values"][0]
            levp = pil(images=rgb, return_tensors="np", do_rescale=False, do_normalize=False)["pixel_values"][0]
            lev = lev.numpy()
            assert lev.dtype == np.uint8, lev.dtype
            # The fused rescale+normalise of the torchvision backend, recomputed from the levels.
            m = torch.tensor(MEAN) * (1.0 / (1 / 255))
            sd = torch.tensor(STD) * (1.0 / (1 / 255))
            re = ((torch.from_numpy(lev).float() - m[:, None, None]) / sd[:, None, None]).numpy()
            assert np.array_equal(re, out), f"{name}: levels do not reproduce the {s} output"
            levp = np.clip(np.round(levp), 0, 255).astype(np.uint8)
            d = np.abs(lev.astype(int) - levp.astype(int))
            print(f"  {s}: PIL backend vs torchvision backend: max {d.max()} level(s), "
                  f"{(d > 0).mean() * 100:.2f}% of values differ", file=sys.stderr)
            if s == 64:
                tensors[f"64/{name}"] = np.ascontiguousarray(lev)
                tensors[f"pil64/{name}"] = np.ascontiguousarray(levp)
            elif name in GOLDEN_224:
                save_png(os.path.join(GOLDEN, "preprocess224", name + ".png"), lev.transpose(1, 2, 0).copy())
        print(name, mode, rgb.size, file=sys.stderr)
    # Other preprocessor configurations, on lossless images (exact expected).
    for cid, cfg in CONFIGS.items():
        proc = CLIPImageProcessor(**cfg)
        for name in ("chelsea_small.png", "coffee_lossless.webp", "rocket.bmp"):
            with open(os.path.join(IMAGES, name), "rb") as f:
                rgb = Image.open(f).convert("RGB")
            out = proc(images=rgb, return_tensors="np")["pixel_values"][0].astype(np.float32)
            tensors[f"cfg/{cid}/{name}"] = np.ascontiguousarray(out)
        meta["config/" + cid] = cfg
    os.makedirs(GOLDEN, exist_ok=True)
    save_file(tensors, os.path.join(GOLDEN, "preprocess64.safetensors"),
              metadata={"images": json.dumps({k: v for k, v in meta.items() if not k.startswith("config/")}),
                        "configs": json.dumps({k[7:]: v for k, v in meta.items() if k.startswith("config/")}), "transformers": __import__("transformers").__version__,
                        "torch": torch.__version__, "pillow": Image.__version__})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make-images")
    mk.add_argument("--skimage", required=True, help="skimage/data folder of Debian's python3-skimage")
    sub.add_parser("goldens")
    a = ap.parse_args()
    if a.cmd == "make-images":
        make_images(a.skimage)
    else:
        goldens()


if __name__ == "__main__":
    main()
