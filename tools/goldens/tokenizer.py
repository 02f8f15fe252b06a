#!/usr/bin/env python3
"""Tokenizer fixtures for goclip, made with transformers' CLIPTokenizer.

Two jobs, both run from the repository root with the project venv:

  python tools/goldens/tokenizer.py goldens   # -> testdata/tokenizer/golden.json
  python tools/goldens/tokenizer.py tables    # -> tokenizer/unicode_tables.go

The vocabulary is the one the Go package embeds (tokenizer/bpe_simple_vocab_16e6.txt.gz);
vocab.json and merges.txt are derived from it exactly as OpenAI's SimpleTokenizer does and
written to a temporary folder, from which CLIPTokenizer is loaded (no Hub access).

`tables` writes the Unicode data the Go tokenizer needs, measured from the `tokenizers`
library that transformers 5.17 runs (its Unicode versions differ from Go's `unicode`
package: Oniguruma's \\p{L}/\\p{N} and Rust's lowercase are newer, the NFC crate is older):
letter and number ranges, White_Space, lowercase mappings, and the NFC data (canonical
combining classes, full canonical decompositions, primary composites).
"""

import gzip
import json
import os
import random
import sys
import tempfile
import unicodedata

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VOCAB_GZ = os.path.join(ROOT, "tokenizer", "bpe_simple_vocab_16e6.txt.gz")

SPLIT_PATTERN = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def write_vocab_folder(folder):
    """vocab.json + merges.txt exactly as in the Hugging Face openai/clip-* repositories."""
    lines = gzip.open(VOCAB_GZ).read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1 : 49152 - 256 - 2 + 1]]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(dict(zip(vocab, range(len(vocab)))), f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")


def load_tokenizer():
    from transformers import CLIPTokenizer

    folder = tempfile.mkdtemp(prefix="goclip-tok-")
    write_vocab_folder(folder)
    return CLIPTokenizer.from_pretrained(folder)


# ---------------------------------------------------------------- goldens

CLASSES = [
    "tench", "goldfish", "great white shark", "hammerhead shark", "stingray", "ostrich",
    "American robin", "bald eagle", "great grey owl", "axolotl", "tree frog", "loggerhead sea turtle",
    "Komodo dragon", "Nile crocodile", "Gila monster", "trilobite", "black widow", "peacock",
    "hummingbird", "koala", "jellyfish", "sea anemone", "king penguin", "Chihuahua",
    "Shih Tzu", "Rhodesian Ridgeback", "Labrador Retriever", "tabby cat", "snow leopard", "ladybug",
    "monarch butterfly", "starfish", "Angora rabbit", "hippopotamus", "bighorn sheep", "orangutan",
    "giant panda", "jack-o'-lantern", "T-shirt", "potter's wheel", "Granny Smith", "yellow lady's slipper",
    "hen-of-the-woods", "carousel", "CD player", "tow truck", "toilet paper", "espresso",
    "Band-Aid", "4x4 vehicle", "spiny lobster", "crane (bird)", "crane (machine)", "Yorkshire Terrier",
]

TEMPLATES = [
    "a photo of a {}.", "a bad photo of a {}.", "a origami {}.", "itap of a {}.",
    "a photo of the large {}.", "art of the {}.", "a close-up photo of a {}.", "a rendition of the {}.",
    "a black and white photo of the {}.", "{}",
]

EDGE = [
    "", " ", "\t\n", "a", "A", "hello world", "Hello World!", "HELLO   WORLD",
    "   leading and trailing   ", "multiple     spaces", "tabs\tand\nnewlines\r\nand\rreturns",
    "nbsp\u00a0here", "ideographic\u3000space", "em\u2003space\u2009thin\u200ahair", "line\u2028sep\u2029para",
    "nel\u0085char", "ogham\u1680space", "narrow\u202fnbsp", "math\u205fspace", "mongolian\u180evowel",
    "zero\u200bwidth", "zwnj\u200cand zwj\u200d", "bom\ufeffinside", "\ufeffleading bom",
    "vertical\u000btab", "form\u000cfeed", "fs\u001cgs\u001drs\u001eus\u001f", "nul\u0000char", "bell\u0007",
    "del\u007f", "c1\u0080\u009f", "soft\u00adhyphen",
    "&amp;", "&lt;b&gt;bold&lt;/b&gt;", "&#39;quoted&#39;", "&quot;hi&quot;", "Tom &amp; Jerry", "&nbsp;", "&#x27;",
    "<|startoftext|>", "<|endoftext|>", "<|startoftext|>a photo<|endoftext|>", "a<|endoftext|>b",
    "<|endoftext|><|endoftext|>", " <|endoftext|> ", "<|ENDOFTEXT|>", "<|EndOfText|>", "<|endoftext|>>",
    "<<|endoftext|>", "<|endoftext", "endoftext|>", "<|startoftext|", "<|  endoftext|>", "<|endoftext|>\u0301",
    "don't", "DON'T", "I'm", "we'll", "they've", "you're", "he'd", "it's", "'s", "''s", "'stop'", "rock'n'roll",
    "o'clock", "l'amour", "aujourd'hui", "it\u2019s", "I\u2019M", "'''", "x'", "'tis",
    "0", "12345", "3.14159", "1,000,000", "2nd", "v1.2.3-rc4", "٣٤٥", "१२३", "½ ² Ⅻ ⑩", "①②③", "12abc34",
    "café", "cafe\u0301", "naïve", "naı\u0308ve", "Ångström", "A\u030angstro\u0308m", "\u212b", "\u2126", "\u212a",
    "ﬁ ligature", "ǅ ǆ Ǆ", "ß straße STRASSE", "ẞ", "İstanbul", "I\u0307", "ΣΑΣ", "ὈΔΥΣΣΕΎΣ", "Ωμέγα",
    "Москва", "ПРИВЕТ мир", "Ελληνικά", "עברית", "العربية", "हिन्दी", "ภาษาไทย", "한국어", "\u1112\u1161\u11ab",
    "\u1100\u1161", "가\u11a8", "日本語のテキスト", "中文字符", "ｆｕｌｌｗｉｄｔｈ", "ﾊﾝｶｸ", "Ⅰ Ⅱ Ⅲ",
    "😀", "😀😀😀", "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🏳\ufe0f\u200d🌈", "🇫🇷🇯🇵", "❤️", "❤\ufe0e", "#️⃣", "a😀b",
    "emoji in text 🐶 dog", "🙂🙃", "\U0001f9d1\u200d\U0001f4bb",
    "q\u0307\u0323", "q\u0323\u0307", "a\u0301\u0316", "e\u0301\u0301", "\u0301", "x\u1ac1y", "\u0344",
    "\U00010d50\U00010d70", "\U000105c0", "\u0130\u0131", "\u1e9e\u00df", "\u2c2f\u2c5f",
    "\ud7a3\u1100", "\U0001d400\U0001d41a", "\U000e0041\U000e007f", "\ue000private", "\U0010fffd",
    "!!!", "...", "?!", "a.b.c", "foo-bar_baz", "@user #hashtag", "http://example.com/path?q=1&r=2",
    "email@example.com", "C++ and C#", "$100 €50 £20 ¥1000", "50%", "(parenthesised)", "[brackets]{braces}",
    "\"double\" 'single'", "`backtick`", "~tilde^caret", "a\\b/c|d", "—em–en−minus", "«guillemets»", "…",
    "a photo of a dog.", "A Photo Of A Dog.", "a photo of a  dog .", "a photo of a dog" + "." * 100,
]


def long_texts():
    base = "a very long caption describing a busy street scene with many people, cars, bicycles and shops "
    return [
        base * 3,
        " ".join(str(i) for i in range(200)),
        "word " * 80,
        "supercalifragilisticexpialidocious" * 30,
        "a" * 2000,
        "\U0001f600" * 100,
        "&amp;" * 60,
        "<|endoftext|>" * 100,
        "x" + " " * 5000 + "y",
        "".join(chr(0x4E00 + i) for i in range(300)),
    ]


def random_texts(n, seed):
    """Random strings over an alphabet of tricky characters (seeded, so the list is stable)."""
    rng = random.Random(seed)
    alphabet = (
        list("abcxyzABCXYZ019 '.,!?&;#<>|-_") + ["'s", "'t", "'re", "'ll", "<|endoftext|>", "<|startoftext|>", "endoftext"]
        + ["\u00e9", "\u00c5", "\u0301", "\u0308", "\u0316", "\u0323", "\u0307", "\u0345", "\u1ac1", "\u05b0", "\u0670"]
        + ["\u1100", "\u1161", "\u11a8", "\uac00", "\u00a0", "\u3000", "\t", "\n", "\u2028", "\u200b", "\u200d", "\u0000"]
        + ["\u001c", "\u0085", "\u0130", "\u03a3", "\u212b", "\u2126", "\ufb01", "\u00df", "\u0663", "\u2167", "\u2460"]
        + ["\U0001f600", "\U0001f44d", "\U0001f3fd", "\ufe0f", "\u65e5", "\u672c", "\u30c6", "\U00010d50", "\U0001d400"]
        + ["\u0391", "\u0399\u0308", "\u1f08", "\u0345", "\u0e01", "\u0e33", "\u0915\u094d", "\ud55c"]
    )
    out = []
    for _ in range(n):
        k = rng.randint(1, 24)
        out.append("".join(rng.choice(alphabet) for _ in range(k)))
    return out


def cases():
    texts = []
    for t in TEMPLATES:
        for c in CLASSES:
            texts.append(t.format(c))
    texts += EDGE + long_texts() + random_texts(400, 20260527)
    seen, out = set(), []
    for t in texts:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def goldens():
    import tokenizers
    import transformers

    tok = load_tokenizer()
    texts = cases()
    enc = tok(texts, add_special_tokens=True, truncation=True, max_length=77)["input_ids"]
    batch = tok(texts[:6], padding="longest", truncation=True, max_length=77)
    batch77 = tok(texts[:3], padding="max_length", truncation=True, max_length=77)
    out = {
        "reference": "transformers %s CLIPTokenizer (tokenizers %s) from vocab.json+merges.txt derived from "
        "tokenizer/bpe_simple_vocab_16e6.txt.gz; add_special_tokens=True, truncation=True, max_length=77; "
        "decoded = tok.decode(ids)" % (transformers.__version__, tokenizers.__version__),
        "cases": [{"text": t, "ids": ids, "decoded": tok.decode(ids)} for t, ids in zip(texts, enc)],
        "batch_longest": {"texts": texts[:6], "ids": batch["input_ids"], "mask": batch["attention_mask"]},
        "batch_77": {"texts": texts[:3], "ids": batch77["input_ids"], "mask": batch77["attention_mask"]},
    }
    path = os.path.join(ROOT, "testdata", "tokenizer", "golden.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print("wrote %s: %d cases" % (path, len(texts)))


# ---------------------------------------------------------------- tables


def ranges(cps):
    out = []
    for cp in cps:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def all_cps():
    return [cp for cp in range(0x110000) if not 0xD800 <= cp < 0xE000]


def tables():
    from tokenizers import Regex, normalizers, pre_tokenizers

    lower = normalizers.Lowercase()
    space = normalizers.Replace(Regex(r"\s+"), " ")
    split = pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="removed", invert=True)
    nfc = normalizers.NFC()
    nfd = normalizers.NFD()

    letters, numbers, spaces, lowers = [], [], [], []
    for cp in all_cps():
        c = chr(cp)
        p1 = [x[0] for x in split.pre_tokenize_str("a" + c + "a")]
        if space.normalize_str("a" + c + "a") == "a a":
            spaces.append(cp)
        if p1 == ["a" + c + "a"]:
            letters.append(cp)
        elif p1 != ["a", "a"]:
            p2 = [x[0] for x in split.pre_tokenize_str("!" + c + "!")]
            if p2 == ["!", c, "!"]:
                numbers.append(cp)
            elif p2 != ["!" + c + "!"]:
                sys.exit("unexpected split of U+%04X: %r %r" % (cp, p1, p2))
        lo = lower.normalize_str(c)
        if lo != c:
            lowers.append((cp, [ord(x) for x in lo]))

    # NFC data as the Rust normaliser sees it.
    decomp = {}  # full canonical decomposition (Hangul syllables excluded: algorithmic)
    for cp in all_cps():
        if 0xAC00 <= cp <= 0xD7A3:
            continue
        d = nfd.normalize_str(chr(cp))
        if d != chr(cp):
            decomp[cp] = [ord(x) for x in d]
    ccc = {}
    for cp in all_cps():
        if cp in decomp:
            continue
        c = chr(cp)
        a = nfd.normalize_str("a\u0301" + c)  # c moves before U+0301 (230) iff 0 < ccc < 230
        b = nfd.normalize_str("a" + c + "\u0316")  # U+0316 (220) moves before c iff ccc > 220
        if a == "a" + c + "\u0301" or b == "a\u0316" + c:
            k = unicodedata.combining(c)
            if k == 0:
                sys.exit("U+%04X reorders in tokenizers but has ccc 0 in Python's unicodedata" % cp)
            ccc[cp] = k
    comps = []  # (first, second, composite)
    for cp, d in decomp.items():
        if nfc.normalize_str(chr(cp)) != chr(cp):
            continue  # excluded or singleton: never produced by composition
        raw = unicodedata.decomposition(chr(cp)).split()
        if len(raw) != 2 or raw[0].startswith("<"):
            sys.exit("U+%04X: unexpected primary composite decomposition %r" % (cp, raw))
        comps.append((int(raw[0], 16), int(raw[1], 16), cp))
    comps.sort()

    path = os.path.join(ROOT, "tokenizer", "unicode_tables.go")
    with open(path, "w", encoding="utf-8") as f:
        w = f.write
        w("// Code generated by tools/goldens/tokenizer.py tables; DO NOT EDIT.\n\n")
        w("package tokenizer\n\n")
        w("// Unicode data measured from the tokenizers library used by transformers 5.17\n")
        w("// (Oniguruma's \\p{L}, \\p{N}, \\s; Rust's char::to_lowercase; the NFC of\n")
        w("// unicode-normalization-alignments). Go's unicode package is a different Unicode\n")
        w("// version, so these tables, not package unicode, decide classes and case.\n\n")

        def emit_ranges(name, doc, rs):
            w("// %s %s\nvar %s = []runeRange{\n" % (name, doc, name))
            for i in range(0, len(rs), 6):
                w("\t" + " ".join("{0x%X, 0x%X}," % (lo, hi) for lo, hi in rs[i : i + 6]) + "\n")
            w("}\n\n")

        emit_ranges("letterRanges", "lists the code points matched by \\p{L} (%d ranges)." % len(ranges(letters)), ranges(letters))
        emit_ranges("numberRanges", "lists the code points matched by \\p{N} (%d ranges)." % len(ranges(numbers)), ranges(numbers))
        emit_ranges("spaceRanges", "lists the code points matched by \\s.", ranges(spaces))

        single = [(a, b[0]) for a, b in lowers if len(b) == 1]
        multi = [(a, b) for a, b in lowers if len(b) != 1]
        w("// lowerPairs maps code points to their single-code-point lowercase, as\n")
        w("// {from, to} pairs sorted by from (%d pairs).\nvar lowerPairs = [][2]rune{\n" % len(single))
        for i in range(0, len(single), 6):
            w("\t" + " ".join("{0x%X, 0x%X}," % p for p in single[i : i + 6]) + "\n")
        w("}\n\n")
        w("// lowerMulti holds the lowercase mappings longer than one code point.\nvar lowerMulti = []lowerMapping{\n")
        for a, b in multi:
            w('\t{0x%X, "%s"},\n' % (a, "".join("\\u%04X" % x if x < 0x10000 else "\\U%08X" % x for x in b)))
        w("}\n\n")

        cr = []  # ranges of equal ccc
        for cp in sorted(ccc):
            if cr and cr[-1][1] == cp - 1 and cr[-1][2] == ccc[cp]:
                cr[-1][1] = cp
            else:
                cr.append([cp, cp, ccc[cp]])
        w("// cccRanges gives the nonzero canonical combining classes (%d ranges).\n" % len(cr))
        w("var cccRanges = []cccRange{\n")
        for i in range(0, len(cr), 5):
            w("\t" + " ".join("{0x%X, 0x%X, %d}," % tuple(x) for x in cr[i : i + 5]) + "\n")
        w("}\n\n")

        keys = sorted(decomp)
        data, offs = [], []
        for k in keys:
            offs.append((k, len(data), len(decomp[k])))
            data += decomp[k]
        w("// decompKeys lists the code points with a canonical decomposition (Hangul\n")
        w("// syllables excluded); decompIndex[i] = offset<<8 | length into decompData.\n")
        w("var decompKeys = []rune{\n")
        for i in range(0, len(keys), 10):
            w("\t" + " ".join("0x%X," % k for k in keys[i : i + 10]) + "\n")
        w("}\n\nvar decompIndex = []uint32{\n")
        for i in range(0, len(offs), 10):
            w("\t" + " ".join("0x%X," % (o << 8 | n) for _, o, n in offs[i : i + 10]) + "\n")
        w("}\n\nvar decompData = []rune{\n")
        for i in range(0, len(data), 10):
            w("\t" + " ".join("0x%X," % x for x in data[i : i + 10]) + "\n")
        w("}\n\n")
        w("// compositions lists the primary composites as {first, second, composite},\n")
        w("// sorted by (first, second) (%d entries).\nvar compositions = [][3]rune{\n" % len(comps))
        for i in range(0, len(comps), 4):
            w("\t" + " ".join("{0x%X, 0x%X, 0x%X}," % c for c in comps[i : i + 4]) + "\n")
        w("}\n")
    print("wrote %s: %d letter ranges, %d number ranges, %d spaces, %d lowercase, %d ccc, %d decompositions, %d compositions"
          % (path, len(ranges(letters)), len(ranges(numbers)), len(spaces), len(lowers), len(ccc), len(decomp), len(comps)))


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("goldens", "tables"):
        sys.exit("usage: tokenizer.py goldens|tables")
    {"goldens": goldens, "tables": tables}[sys.argv[1]]()
