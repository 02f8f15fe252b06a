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


def write_png(path, w, h, depth, ctype, rows, chunks=()):
    """Writes a PNG from raw scanline bytes (no filter), with extra chunks before IDAT
    (Pillow cannot write 2-bit greyscale, 16-bit RGB/LA/RGBA or a 16-bit tRNS of its choice)."""
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)
    raw = b"".join(b"\x00" + r for r in rows)
    body = b"".join(chunk(t, d) for t, d in chunks)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + body + chunk(b"IDAT", zlib.compress(raw, 9))
                + chunk(b"IEND", b""))


def magick(*args):
    """Debian's ImageMagick 6 (the real binary, not a wrapper on PATH)."""
    subprocess.run(["/usr/bin/convert-im6.q16", *args], check=True)


def make_extra():
    """Small files for issue 15 (transparency and decoder corner cases), made from
    testdata/images/chelsea_small.png and synthetic gradients: no download needed."""
    out = lambda n: os.path.join(IMAGES, n)
    photo = Image.open(out("chelsea_small.png")).convert("RGB")  # 40x27
    w, h = photo.size
    # Every (colour, alpha) pair once: rows are alpha 0..255, columns colour 0..255
    # (R = x, G = 255 - x, B = (7x) mod 256): checks alpha_composite's arithmetic exhaustively.
    x = np.arange(256, dtype=np.uint8)
    tab = np.zeros((256, 256, 4), np.uint8)
    tab[..., 0], tab[..., 1], tab[..., 2] = x[None, :], 255 - x[None, :], (x.astype(int) * 7 % 256)[None, :]
    tab[..., 3] = x[:, None]
    Image.fromarray(tab, "RGBA").save(out("alpha_table.png"))
    # Greyscale with a tRNS grey that occurs (8-bit), quantised so the key covers areas.
    grey = np.asarray(photo.convert("L")) // 32 * 32
    Image.fromarray(grey, "L").save(out("trns_grey.png"), transparency=int(grey[5, 5]))
    # 16-bit greyscale (Pillow's I;16, clipped at 255) with keys compared by their low byte:
    # 96 matches the level 96; 0x1ff's low byte 255 matches every clipped value.
    g16 = (np.arange(w * h, dtype=np.uint32).reshape(h, w) * 3 % 512).astype(">u2")
    for nm, key in (("trns_grey16_low.png", 96), ("trns_grey16_high.png", 0x1FF)):
        write_png(out(nm), w, h, 16, 0, [g16[y].tobytes() for y in range(h)], [(b"tRNS", struct.pack(">H", key))])
    # 2-bit greyscale: Pillow keeps the raw key (2) but compares it with levels scaled to 0..255.
    lv = (np.arange(w * h).reshape(h, w) // 7 % 4).astype(np.uint8)
    packed = [bytes(np.packbits(np.unpackbits(lv[y][:, None], axis=1)[:, 6:].reshape(-1)).tolist()) for y in range(h)]
    write_png(out("trns_grey2.png"), w, h, 2, 0, packed, [(b"tRNS", struct.pack(">H", 2))])
    # 1-bit with tRNS (any non-zero value means white).
    bits = Image.fromarray(grey > 100).convert("1")
    bits.save(out("trns_bilevel.png"), transparency=1)
    # RGB with a colour key that occurs, 8-bit and 16-bit (key compared by low bytes with the high bytes).
    rgb = np.asarray(photo.quantize(colors=8).convert("RGB"))
    Image.fromarray(rgb, "RGB").save(out("trns_rgb.png"), transparency=tuple(int(v) for v in rgb[3, 3]))
    rgb16 = rgb.astype(">u2") * 257 + np.arange(w, dtype=np.uint16)[None, :, None]  # low bytes vary
    k = tuple(int(v) for v in rgb[3, 3])  # low byte of the key = high byte of the pixel
    write_png(out("trns_rgb16.png"), w, h, 16, 2, [rgb16[y].tobytes() for y in range(h)],
              [(b"tRNS", struct.pack(">HHH", *k))])
    # Palette with one alpha per entry (tRNS bytes, not a single index).
    pal = photo.quantize(colors=16)
    pal.save(out("trns_palette_alphas.png"), transparency=bytes([(i * 17) % 256 for i in range(16)]))
    # 16-bit grey+alpha and RGBA (Pillow reads the high bytes).
    a16 = (np.arange(w, dtype=np.uint32)[None, :] * 65535 // (w - 1)).repeat(h, 0).astype(">u2")
    la = np.stack([g16 * 128, a16], -1).astype(">u2")
    write_png(out("alpha_la16.png"), w, h, 16, 4, [la[y].tobytes() for y in range(h)])
    rgba16 = np.concatenate([rgb16, a16[..., None]], -1).astype(">u2")
    write_png(out("alpha_rgba16.png"), w, h, 16, 6, [rgba16[y].tobytes() for y in range(h)])
    # GIF with a transparent index, one frame.
    photo.quantize(colors=16).save(out("trns.gif"), transparency=2)
    # TIFF: unassociated alpha (Pillow), associated alpha 8 and 16 bits (ImageMagick).
    rgba = photo.convert("RGBA")
    ra = np.array(rgba)
    ra[..., 3] = (np.arange(w)[None, :] * 255 // (w - 1)).astype(np.uint8)
    rgba = Image.fromarray(ra, "RGBA")
    rgba.save(out("alpha_unassoc.tiff"))
    rgba.save("/tmp/goclip-rgba.png")
    magick("/tmp/goclip-rgba.png", "-define", "tiff:alpha=associated", "-compress", "none", out("alpha_assoc.tiff"))
    magick("/tmp/goclip-rgba.png", "-depth", "16", "-define", "tiff:alpha=associated", "-compress", "zip",
           out("alpha_assoc16.tiff"))
    # CCITT Group 4 bilevel TIFF in both photometric interpretations (x/image/tiff inverts BlackIsZero).
    photo.save("/tmp/goclip-photo.png")
    for pol in ("black", "white"):
        magick("/tmp/goclip-photo.png", "-monochrome", "-compress", "Group4", "-define",
               f"quantum:polarity=min-is-{pol}", out(f"tiff_g4_{pol}iszero.tiff"))
    # YCCK JPEG (Adobe transform 2): what ImageMagick writes for -colorspace CMYK.
    magick("/tmp/goclip-photo.png", "-colorspace", "CMYK", "-quality", "85", out("ycck.jpg"))
    # Progressive 4:2:0 with restart markers (Pillow, and cjpeg's per-row interval), odd size.
    photo.save(out("progressive_420_rst.jpg"), quality=85, subsampling=2, progressive=True, restart_marker_blocks=3)
    photo.save("/tmp/goclip-photo.ppm")
    subprocess.run(["cjpeg", "-progressive", "-restart", "1", "-sample", "2x2", "-outfile",
                    out("progressive_420_rst_cjpeg.jpg"), "/tmp/goclip-photo.ppm"], check=True)
    # BMP that x/image/bmp refuses: RLE8 and RLE4 (ImageMagick writes palette BMPs that way),
    # 16-bit 5-6-5 and 5-5-5, an OS/2 1.x header, a 200-colour palette.
    for nm, args in (("bmp_rle8.bmp", ["-colors", "200", "-compress", "RLE", "BMP3:"]),
                     ("bmp_rle4.bmp", ["-colors", "12", "-compress", "RLE", "BMP3:"]),
                     ("bmp_rgb565.bmp", ["-define", "bmp:subtype=RGB565", "BMP:"]),
                     ("bmp_rgb555.bmp", ["-define", "bmp:subtype=RGB555", "BMP:"]),
                     ("bmp_os2.bmp", ["BMP2:"]), ("bmp_p200.bmp", ["-colors", "200", "-compress", "None", "BMP3:"])):
        magick("/tmp/goclip-photo.png", *args[:-1], args[-1] + out(nm))
    write_bmp_rle4(out("bmp_rle4.bmp"), photo.quantize(colors=16))
    # 8-bit CMYK TIFF (Pillow, and ImageMagick's with more tags, LZW).
    photo.convert("CMYK").save(out("tiff_cmyk.tiff"))
    magick("/tmp/goclip-photo.png", "-colorspace", "CMYK", "-compress", "LZW", out("tiff_cmyk_im.tiff"))
    # Animated WebP (Pillow): the first frame is what Image.open gives; with alpha, lossy and lossless.
    frames = [rgba, rgba.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    frames[0].save(out("anim_rgba.webp"), save_all=True, append_images=frames[1:], duration=40, quality=80)
    frames[0].convert("RGB").save(out("anim_rgb_lossless.webp"), save_all=True,
                                  append_images=[f.convert("RGB") for f in frames[1:]], duration=40, lossless=True)

    # Files Pillow opens and goclip refuses, each with an error naming the feature
    # (testdata/refused; imageproc's TestRefusedFeatures).
    ref = os.path.join(ROOT, "testdata", "refused")
    os.makedirs(ref, exist_ok=True)
    small = photo.resize((16, 12))
    small.save("/tmp/goclip-small.png")
    small.save(os.path.join(ref, "tiff_jpeg.tiff"), compression="jpeg")
    magick("/tmp/goclip-small.png", "-colorspace", "CMYK", "-depth", "16", os.path.join(ref, "tiff_cmyk16.tiff"))
    small.convert("LA").save(os.path.join(ref, "tiff_la.tiff"))
    magick("/tmp/goclip-small.png", "-interlace", "Plane", os.path.join(ref, "tiff_planar.tiff"))
    magick("/tmp/goclip-small.png", "TIFF64:" + os.path.join(ref, "tiff_bigtiff.tiff"))
    small.save("/tmp/goclip-small.ppm")
    subprocess.run(["cjpeg", "-arithmetic", "-outfile", os.path.join(ref, "jpeg_arithmetic.jpg"),
                    "/tmp/goclip-small.ppm"], check=True)
    subprocess.run(["cjpeg", "-sample", "2x2,2x1,1x1", "-outfile", os.path.join(ref, "jpeg_mixed_sampling.jpg"),
                    "/tmp/goclip-small.ppm"], check=True)
    magick("/tmp/goclip-small.png", "-monochrome", "-compress", "Fax", os.path.join(ref, "tiff_g3_fillbits.tiff"))


def write_bmp_rle4(path, im):
    """A 4-bit RLE BMP (no tool at hand writes one): per row an absolute run of 6 pixels,
    then encoded runs of two alternating indices, an end-of-line, and an end-of-bitmap."""
    w, h = im.size
    px = np.asarray(im)
    pal = im.getpalette()[:48]
    body = bytearray()
    for y in range(h - 1, -1, -1):  # bottom-up
        row = [int(v) & 15 for v in px[y]]
        body += bytes([0, 6]) + bytes([(row[0] << 4) | row[1], (row[2] << 4) | row[3], (row[4] << 4) | row[5]]) + b"\0"
        x = 6
        while x < w:
            n = min(2, w - x)
            hi, lo = row[x], row[x + 1] if n == 2 else 0
            body += bytes([n, (hi << 4) | lo])
            x += n
        body += b"\0\0"
    body += b"\0\1"
    palette = b"".join(bytes([pal[3 * i + 2], pal[3 * i + 1], pal[3 * i], 0]) for i in range(16))
    off = 14 + 40 + len(palette)
    hdr = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 4, 2, len(body), 2835, 2835, 16, 0)
    with open(path, "wb") as f:
        f.write(b"BM" + struct.pack("<IHHI", off + len(body), 0, 0, off) + hdr + palette + bytes(body))


def image_names():
    return sorted(n for n in os.listdir(IMAGES) if not n.upper().startswith(("README", "ATTRIBUTION")))


def save_png(path, arr):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(arr, "RGB").save(path, optimize=True)


# Background of the Background-option goldens (decoded-bg/).
BG = (0, 128, 255)


def has_transparency(im):
    """transformers 5's convert_to_rgb test for compositing."""
    return "A" in im.getbands() or im.info.get("transparency") is not None


def goldens():
    import torch
    from safetensors.numpy import save_file
    from transformers import CLIPImageProcessor
    from transformers.image_transforms import convert_to_rgb
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tensors = {}
    meta = {}
    for name in image_names():
        path = os.path.join(IMAGES, name)
        with Image.open(path) as im:
            mode = im.mode
            trans = has_transparency(im)
            dec = convert_to_rgb(im, return_numpy=True)  # transformers 5: composite onto white
            drop = np.asarray(im.convert("RGB"))  # transformers 4: Image.convert("RGB")
            if trans:
                bg = Image.alpha_composite(Image.new("RGBA", im.size, BG + (255,)), im.convert("RGBA"))
                save_png(os.path.join(GOLDEN, "decoded-bg", name + ".png"), np.asarray(bg.convert("RGB")))
                save_png(os.path.join(GOLDEN, "decoded-drop", name + ".png"), drop)
        save_png(os.path.join(GOLDEN, "decoded", name + ".png"), dec)
        meta[name] = {"mode": mode, "width": dec.shape[1], "height": dec.shape[0], "transparency": trans}
        for s in (64, 224):
            kw = dict(size={"shortest_edge": s}, crop_size={"height": s, "width": s})
            fast = CLIPImageProcessor(**kw)
            pil = CLIPImageProcessorPil(**kw)
            # The processor's own call on the opened file, as a user writes it.
            with Image.open(path) as im:
                out = fast(images=im, return_tensors="np")["pixel_values"][0].astype(np.float32)
            with Image.open(path) as im:
                outp = pil(images=im, return_tensors="np")["pixel_values"][0].astype(np.float32)
            with Image.open(path) as im:
                lev = fast(images=im, return_tensors="pt", do_rescale=False, do_normalize=False)["pixel_values"][0]
            with Image.open(path) as im:
                levp = pil(images=im, return_tensors="np", do_rescale=False, do_normalize=False)["pixel_values"][0]
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
                if trans:
                    # transformers 4's convert_to_rgb was Image.convert("RGB"); an RGB array
                    # carries no transparency, so this is the same resize on the dropped-alpha pixels.
                    levd = fast(images=drop, return_tensors="pt", do_rescale=False, do_normalize=False)
                    tensors[f"drop64/{name}"] = np.ascontiguousarray(levd["pixel_values"][0].numpy())
            elif name in GOLDEN_224:
                save_png(os.path.join(GOLDEN, "preprocess224", name + ".png"), lev.transpose(1, 2, 0).copy())
        print(name, mode, dec.shape, "transparency" if trans else "", file=sys.stderr)
    # Other preprocessor configurations, on lossless images (exact expected).
    for cid, cfg in CONFIGS.items():
        proc = CLIPImageProcessor(**cfg)
        for name in ("chelsea_small.png", "coffee_lossless.webp", "rocket.bmp"):
            with Image.open(os.path.join(IMAGES, name)) as im:
                out = proc(images=im, return_tensors="np")["pixel_values"][0].astype(np.float32)
            tensors[f"cfg/{cid}/{name}"] = np.ascontiguousarray(out)
        meta["config/" + cid] = cfg
    os.makedirs(GOLDEN, exist_ok=True)
    save_file(tensors, os.path.join(GOLDEN, "preprocess64.safetensors"),
              metadata={"images": json.dumps({k: v for k, v in meta.items() if not k.startswith("config/")}),
                        "configs": json.dumps({k[7:]: v for k, v in meta.items() if k.startswith("config/")}),
                        "transformers": __import__("transformers").__version__,
                        "torch": torch.__version__, "pillow": Image.__version__, "background": json.dumps(BG)})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make-images")
    mk.add_argument("--skimage", required=True, help="skimage/data folder of Debian's python3-skimage")
    sub.add_parser("make-extra")
    sub.add_parser("goldens")
    a = ap.parse_args()
    if a.cmd == "make-images":
        make_images(a.skimage)
    elif a.cmd == "make-extra":
        make_extra()
    else:
        goldens()


if __name__ == "__main__":
    main()
