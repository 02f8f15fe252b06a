#!/usr/bin/env python3
"""A corpus of a few hundred generated image files, and transformers' view of them.

  corpus.py generate DIR    # writes ~680 variants into DIR (not committed; ~40 MB, ~2 min)
  corpus.py reference DIR   # DIR/reference.safetensors from transformers' CLIPImageProcessor
  go run ./tools/imagecorpus DIR   # goclip vs the reference: counts by format

Sources: ImageMagick's built-in images (rose:, logo:, wizard:, granite:, netscape:) and
goclip's own testdata photos, re-encoded by Pillow, ImageMagick 6 (Debian), cjpeg/jpegtran
(Debian's libjpeg-turbo-progs) and cwebp (Debian's webp):

  apt-get install imagemagick libjpeg-turbo-progs webp

The reference for every file is what CLIPImageProcessor does with Image.open(path):
  dec/<file>   uint8 [H,W,3]  transformers.image_transforms.convert_to_rgb(Image.open(p), return_numpy=True)
  pre/<file>   uint8 [3,64,64] CLIPImageProcessor(size 64, crop 64)(images=Image.open(p)) levels
               (do_rescale=False, do_normalize=False; the float output is a fixed function of them)
  drop/<file>  uint8 [H,W,3]  Image.open(p).convert("RGB"), for files with transparency
Files Pillow cannot open are listed in the metadata "pillow_errors".
"""
import io
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TESTDATA = os.path.join(ROOT, "testdata", "images")
IM = "/usr/bin/convert-im6.q16"  # the real ImageMagick, not a wrapper on PATH


def run(*args, **kw):
    subprocess.run(list(args), check=True, **kw)


def sources(tmp):
    """name -> PNG path of the source images (RGB unless noted)."""
    out = {}
    for b, geo in (("rose", None), ("logo", "160x120"), ("wizard", "90x109"), ("granite", None),
                   ("netscape", "108x72")):
        p = os.path.join(tmp, b + ".png")
        run(IM, b + ":", *(["-resize", geo] if geo else []), "-alpha", "off", "PNG24:" + p)
        out[b] = p
    for n, crop in (("coffee_lossless.webp", (0, 0, 121, 83)), ("astronaut_rgba.png", None),
                    ("camera_grey.png", (3, 5, 100, 80))):
        im = Image.open(os.path.join(TESTDATA, n))
        if crop:
            im = im.crop(crop)
        p = os.path.join(tmp, n.split(".")[0] + ".png")
        im.save(p)
        out[n.split("_")[0]] = p
    return out


def gen_jpeg(d, src):
    for s in ("rose", "logo", "wizard", "coffee", "granite"):
        im = Image.open(src[s]).convert("RGB")
        for q in (50, 90):
            for ss in (0, 1, 2):
                im.save(f"{d}/pil_{s}_q{q}_s{ss}.jpg", quality=q, subsampling=ss)
                im.save(f"{d}/pil_{s}_q{q}_s{ss}_prog.jpg", quality=q, subsampling=ss, progressive=True)
        for ss in (0, 2):
            im.save(f"{d}/pil_{s}_s{ss}_rst.jpg", quality=80, subsampling=ss, restart_marker_rows=1)
            im.save(f"{d}/pil_{s}_s{ss}_prog_rst.jpg", quality=80, subsampling=ss, progressive=True,
                    restart_marker_blocks=3)
        im.convert("L").save(f"{d}/pil_{s}_grey.jpg", quality=85)
        im.convert("CMYK").save(f"{d}/pil_{s}_cmyk.jpg", quality=85)
        im.save(f"{d}/pil_{s}_opt.jpg", quality=75, optimize=True)
        ppm = os.path.join(d + "-src", s + ".ppm")
        im.save(ppm)
        for tag, args in (("420", ["-sample", "2x2"]), ("422", ["-sample", "2x1"]), ("440", ["-sample", "1x2"]),
                          ("411", ["-sample", "4x1"]), ("444", ["-sample", "1x1"]), ("410", ["-sample", "4x2"]),
                          ("mixed", ["-sample", "2x2,2x1,1x1"]), ("mixed2", ["-sample", "2x2,1x2,1x1"]),
                          ("prog", ["-progressive"]), ("prog420rst", ["-progressive", "-restart", "2"]),
                          ("rst1", ["-restart", "1"]), ("rstb", ["-restart", "5B"]),
                          ("arith", ["-arithmetic"]), ("arithprog", ["-arithmetic", "-progressive"]),
                          ("float", ["-dct", "float"]), ("fast", ["-dct", "fast"]), ("q100", ["-quality", "100"]),
                          ("grey", ["-grayscale"]), ("rgb", ["-rgb"]), ("smooth", ["-smooth", "30"])):
            run("cjpeg", *args, "-outfile", f"{d}/cjpeg_{s}_{tag}.jpg", ppm)
        base = f"{d}/cjpeg_{s}_420.jpg"
        for tag, args in (("prog", ["-progressive"]), ("arith", ["-arithmetic"]), ("rst", ["-restart", "2"]),
                          ("progrst", ["-progressive", "-restart", "1"]), ("opt", ["-optimize"]),
                          ("rot90", ["-rotate", "90", "-trim"]), ("grey", ["-grayscale"])):
            with open(f"{d}/jpegtran_{s}_{tag}.jpg", "wb") as f:
                run("jpegtran", *args, base, stdout=f)
        for tag, args in (("cmyk", ["-colorspace", "CMYK"]), ("s411", ["-sampling-factor", "4:1:1"]),
                          ("s440", ["-sampling-factor", "1x2"]), ("plane", ["-interlace", "Plane"]),
                          ("grey", ["-colorspace", "Gray"]), ("q30", ["-quality", "30"])):
            run(IM, src[s], *args, f"{d}/im_{s}_{tag}.jpg")


def gen_png(d, src):
    for s in ("rose", "wizard", "astronaut", "camera", "netscape"):
        im = Image.open(src[s])
        rgb = im.convert("RGB")
        rgba = im.convert("RGBA")
        if s != "astronaut":
            a = np.array(rgba)
            a[..., 3] = (np.arange(a.shape[1]) * 255 // max(1, a.shape[1] - 1))[None, :]
            a[:4, :4, 3] = 0
            rgba = Image.fromarray(a, "RGBA")
        rgb.save(f"{d}/pil_{s}_rgb.png")
        rgba.save(f"{d}/pil_{s}_rgba.png")
        rgb.convert("L").save(f"{d}/pil_{s}_l.png")
        rgba.convert("LA").save(f"{d}/pil_{s}_la.png")
        rgb.convert("1").save(f"{d}/pil_{s}_1.png")
        p = rgb.quantize(colors=32)
        p.save(f"{d}/pil_{s}_p.png")
        p.save(f"{d}/pil_{s}_p_trns.png", transparency=1)
        p.save(f"{d}/pil_{s}_p_alphas.png", transparency=bytes(range(0, 256, 8)))
        p.save(f"{d}/pil_{s}_p4.png", bits=4)
        rgba.quantize(colors=16).save(f"{d}/pil_{s}_rgba_quant.png")
        g = rgb.convert("L")
        g.save(f"{d}/pil_{s}_l_trns.png", transparency=int(np.asarray(g)[2, 2]))
        rgb.save(f"{d}/pil_{s}_rgb_trns.png", transparency=tuple(int(v) for v in np.asarray(rgb)[2, 2]))
        i16 = Image.fromarray(np.asarray(g).astype(np.uint16) * 3)
        i16.save(f"{d}/pil_{s}_i16.png")
        i16.save(f"{d}/pil_{s}_i16_trns.png", transparency=int(np.asarray(g)[2, 2]) * 3)
        for tag, args in (("png8", ["PNG8:"]), ("png24", ["PNG24:"]), ("png32", ["PNG32:"]), ("png48", ["PNG48:"]),
                          ("png64", ["PNG64:"]), ("grey", ["-colorspace", "Gray", ""]),
                          ("grey16", ["-colorspace", "Gray", "-depth", "16", ""]),
                          ("interlace", ["-interlace", "PNG", ""]), ("greya", ["-colorspace", "Gray", "PNG32:"]),
                          ("bilevel", ["-monochrome", ""]), ("colors4", ["-colors", "4", ""])):
            source = f"{d}/pil_{s}_rgba.png" if tag in ("png8", "png32", "png64", "greya") else src[s]
            run(IM, source, *args[:-1], args[-1] + f"{d}/im_{s}_{tag}.png")


def gen_other(d, src):
    for s in ("rose", "wizard", "astronaut", "granite", "netscape"):
        im = Image.open(src[s])
        rgb = im.convert("RGB")
        rgba = Image.open(f"{d}/pil_{s}_rgba.png") if os.path.exists(f"{d}/pil_{s}_rgba.png") else rgb.convert("RGBA")
        # GIF
        p = rgb.quantize(colors=64)
        p.save(f"{d}/pil_{s}.gif")
        p.save(f"{d}/pil_{s}_trns.gif", transparency=3)
        rgba.save(f"{d}/pil_{s}_rgba.gif")
        frames = [p, rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT).quantize(colors=64)]
        frames[0].save(f"{d}/pil_{s}_anim.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
        run(IM, src[s], f"{d}/im_{s}.gif")
        run(IM, src[s], "-interlace", "GIF", f"{d}/im_{s}_interlace.gif")
        # BMP
        rgb.save(f"{d}/pil_{s}.bmp")
        p.save(f"{d}/pil_{s}_p.bmp")
        rgb.convert("L").save(f"{d}/pil_{s}_l.bmp")
        rgb.convert("1").save(f"{d}/pil_{s}_1.bmp")
        rgba.save(f"{d}/pil_{s}_rgba.bmp")
        for tag, args in (("bmp3", ["BMP3:"]), ("bmp2", ["BMP2:"]), ("bmp4", ["BMP:"]),
                          ("rle8", ["-colors", "200", "-compress", "RLE", "BMP3:"]),
                          ("p8", ["-colors", "200", "BMP3:"]), ("p4", ["-colors", "12", "BMP3:"]),
                          ("rgb565", ["-define", "bmp:subtype=RGB565", "BMP:"]),
                          ("rgb555", ["-define", "bmp:subtype=RGB555", "BMP:"]),
                          ("argb4444", ["-define", "bmp:subtype=ARGB4444", "BMP:"])):
            source = f"{d}/pil_{s}_rgba.png" if tag in ("bmp4", "argb4444") and os.path.exists(
                f"{d}/pil_{s}_rgba.png") else src[s]
            run(IM, source, *args[:-1], args[-1] + f"{d}/im_{s}_{tag}.bmp")
        # TIFF
        for comp in ("raw", "tiff_lzw", "tiff_deflate", "tiff_adobe_deflate", "packbits", "jpeg"):
            rgb.save(f"{d}/pil_{s}_{comp}.tiff", compression=comp)
        rgba.save(f"{d}/pil_{s}_rgba.tiff", compression="tiff_lzw")
        rgb.convert("L").save(f"{d}/pil_{s}_l.tiff")
        rgba.convert("LA").save(f"{d}/pil_{s}_la.tiff")
        p.save(f"{d}/pil_{s}_p.tiff")
        rgb.convert("CMYK").save(f"{d}/pil_{s}_cmyk.tiff")
        Image.fromarray(np.asarray(rgb.convert("L")).astype(np.uint16) * 200).save(f"{d}/pil_{s}_i16.tiff")
        bw = rgb.convert("1")
        for comp in ("group4", "group3", "raw", "packbits"):
            bw.save(f"{d}/pil_{s}_1_{comp}.tiff", compression=comp)
        for tag, args in (("g4white", ["-monochrome", "-compress", "Group4", "-define", "quantum:polarity=min-is-white"]),
                          ("g4black", ["-monochrome", "-compress", "Group4", "-define", "quantum:polarity=min-is-black"]),
                          ("g3", ["-monochrome", "-compress", "Fax"]),
                          ("jpeg", ["-compress", "JPEG"]), ("planar", ["-interlace", "Plane"]),
                          ("cmyk", ["-colorspace", "CMYK"]), ("assoc", ["-alpha", "on", "-define", "tiff:alpha=associated"]),
                          ("unassoc", ["-alpha", "on", "-define", "tiff:alpha=unassociated"]),
                          ("depth16", ["-depth", "16"]), ("zip", ["-compress", "Zip"]),
                          ("grey", ["-colorspace", "Gray"]), ("lzwpred", ["-compress", "LZW", "-define", "tiff:predictor=2"])):
            source = f"{d}/pil_{s}_rgba.png" if tag in ("assoc", "unassoc") and os.path.exists(
                f"{d}/pil_{s}_rgba.png") else src[s]
            run(IM, source, *args, f"{d}/im_{s}_{tag}.tiff")
        run(IM, src[s], f"TIFF64:{d}/im_{s}_bigtiff.tiff")
        # WebP
        rgb.save(f"{d}/pil_{s}_q80.webp", quality=80)
        rgb.save(f"{d}/pil_{s}_lossless.webp", lossless=True)
        rgba.save(f"{d}/pil_{s}_rgba_q70.webp", quality=70)
        rgba.save(f"{d}/pil_{s}_rgba_lossless.webp", lossless=True, exact=True)
        frames2 = [rgb, rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
        frames2[0].save(f"{d}/pil_{s}_anim.webp", save_all=True, append_images=frames2[1:], duration=50)
        for tag, args in (("q50", ["-q", "50"]), ("sharp", ["-sharp_yuv"]), ("m0", ["-m", "0"]),
                          ("lossless", ["-lossless"]), ("near", ["-near_lossless", "60"])):
            run("cwebp", "-quiet", *args, src[s], "-o", f"{d}/cwebp_{s}_{tag}.webp")
        if os.path.exists(f"{d}/pil_{s}_rgba.png"):
            run("cwebp", "-quiet", "-q", "60", "-alpha_q", "50", f"{d}/pil_{s}_rgba.png", "-o", f"{d}/cwebp_{s}_alpha.webp")


def generate(d):
    os.makedirs(d, exist_ok=True)
    tmp = d.rstrip("/") + "-src"
    os.makedirs(tmp, exist_ok=True)
    src = sources(tmp)
    gen_jpeg(d, src)
    gen_png(d, src)
    gen_other(d, src)
    print(len(os.listdir(d)), "files in", d)


def reference(d):
    import torch
    from safetensors.numpy import save_file
    from transformers import CLIPImageProcessor
    from transformers.image_transforms import convert_to_rgb

    proc = CLIPImageProcessor(size={"shortest_edge": 64}, crop_size={"height": 64, "width": 64})
    tensors, errors = {}, {}
    for n in sorted(os.listdir(d)):
        if n.endswith(".safetensors"):
            continue
        p = os.path.join(d, n)
        try:
            with Image.open(p) as im:
                trans = "A" in im.getbands() or im.info.get("transparency") is not None
                dec = convert_to_rgb(im, return_numpy=True)
                if trans:
                    tensors["drop/" + n] = np.ascontiguousarray(np.asarray(im.convert("RGB")))
            with Image.open(p) as im:
                lev = proc(images=im, return_tensors="pt", do_rescale=False, do_normalize=False)["pixel_values"][0]
        except Exception as e:  # noqa: BLE001 - every Pillow failure is a data point
            errors[n] = f"{type(e).__name__}: {e}"
            continue
        tensors["dec/" + n] = np.ascontiguousarray(dec)
        tensors["pre/" + n] = np.ascontiguousarray(lev.numpy().astype(np.uint8))
    import transformers
    import PIL
    save_file(tensors, os.path.join(d, "reference.safetensors"),
              metadata={"pillow_errors": json.dumps(errors), "transformers": transformers.__version__,
                        "pillow": PIL.__version__, "torch": torch.__version__})
    print(len(tensors), "tensors;", len(errors), "files Pillow refuses", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("generate", "reference"):
        sys.exit(__doc__)
    (generate if sys.argv[1] == "generate" else reference)(sys.argv[2])
