#!/usr/bin/env python3
"""SentencePiece fixtures for goclip's tokenizer/sentencepiece package.

Three jobs, run from the repository root with the project venv
(/root/goclip-venv: sentencepiece 0.2.3, transformers 5.24.0, tokenizers 0.23.3):

  python tools/goldens/sentencepiece.py models   # -> testdata/sentencepiece/*.model, gemma*/ folders
  python tools/goldens/sentencepiece.py goldens  # -> testdata/sentencepiece/golden.json.gz
  python tools/goldens/sentencepiece.py tables   # -> tokenizer/sentencepiece/pyunicode_tables.go

`models` trains four small SentencePiece models (vocabulary 1,000-1,500) on a
corpus any Debian machine has: the license texts of /usr/share/common-licenses,
the ImageNet class names and the 80 templates (clip/prompts/, as the
Go package embeds them) and the texts of
testdata/tokenizer/golden.json. Training is single-threaded and seeded, so the
same sentencepiece version gives the same files.

  unigram_nfkc.model  unigram, nmt_nfkc normalisation (precompiled charsmap),
                      pad 0 / eos 1 / unk 2, as SigLIP's T5-style spiece.model
  unigram_bytes.model unigram, byte_fallback, identity normalisation, user-defined
                      symbols, split_digits
  bpe.model           BPE, identity normalisation, no byte fallback
  unigram_suffix.model unigram, treat_whitespace_as_suffix, extra white space kept
  bpe_bytes.model     BPE, byte_fallback, Gemma's settings (no dummy prefix, extra
                      white space kept, pad 0 / eos 1 / bos 2 / unk 3, user-defined
                      <start_of_turn>, <end_of_turn>, <mask>)

From bpe_bytes.model it writes two Hugging Face folders in the Gemma layout:
gemma/ (tokenizer.json: BPE with byte_fallback and fuse_unk, normalizer
Replace(" ", "▁"), no pre-tokenizer, post-processor "<bos> $A", and the
tokenizer_config.json GemmaTokenizer.save_pretrained writes) and siglip2/ (the
same tokenizer.json with SigLIP 2's tokenizer_config.json: add_bos_token false,
add_eos_token true, padding_side right, model_max_length 64, do_lower_case true)
`goldens` also checks two more, made on the fly: siglip2/ with tokenizer_class
Siglip2Tokenizer (transformers' class for model_type siglip2, which lowercases), and
gemma/ with a non-special and a normalized added token (raw ids of the texts that
contain them).

`goldens` encodes the case list (tools/goldens/tokenizer.py's cases, SigLIP edge
cases, seeded random Unicode strings and long texts) with
  - sentencepiece.SentencePieceProcessor.encode (every model),
  - transformers.SiglipTokenizer (every .model; padding="max_length",
    truncation=True, max_length=64, and unpadded),
  - tokenizers.Tokenizer.from_file and transformers.AutoTokenizer on gemma/ and
    siglip2/ (max_length 64 as SigLIP 2 runs),
and stores the ids. For the texts of ../shared/reference/golden/tokenizer.json,
when present, it stores the ids under the SHA-256 of each text (the texts
themselves stay in the shared folder).

`tables` measures from this Python the Unicode data SiglipTokenizer's
canonicalize_text depends on: str.lower (with U+0130 -> "i̇" and the
Final_Sigma rule), str.isspace (re's \\s and str.strip); and from the tokenizers
library the Lowercase normalizer Siglip2Tokenizer adds (Rust's to_lowercase).
"""

import gzip
import hashlib
import json
import os
import random
import re
import shutil
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "testdata", "sentencepiece")
HERE = os.path.dirname(os.path.abspath(__file__))
# This file is named like the package it uses: keep its folder off the import path.
sys.path = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]

SHARED = os.path.join(ROOT, "..", "shared", "reference", "golden", "tokenizer.json")
MAXLEN = 64


def corpus():
    texts = []
    lic = "/usr/share/common-licenses"
    for name in sorted(os.listdir(lic)):
        p = os.path.join(lic, name)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        texts += open(p, encoding="utf-8").read().split("\n")
    prompts = os.path.join(ROOT, "clip", "prompts")
    classes = open(os.path.join(prompts, "imagenet_classes.txt"), encoding="utf-8").read().splitlines()
    templates = open(os.path.join(prompts, "imagenet_templates.txt"), encoding="utf-8").read().splitlines()
    texts += classes + [t.replace("{}", c) for t in templates for c in classes[::50]]
    g = json.load(open(os.path.join(ROOT, "testdata", "tokenizer", "golden.json"), encoding="utf-8"))
    texts += [c["text"] for c in g["cases"]]
    return [t for t in texts if t.strip()]


MODELS = {
    "unigram_nfkc": dict(model_type="unigram", vocab_size=1000, pad_id=0, eos_id=1, unk_id=2, bos_id=-1),
    "unigram_bytes": dict(
        model_type="unigram", vocab_size=1200, byte_fallback=True, normalization_rule_name="identity",
        user_defined_symbols=["<mask>", "qq", "▁photo▁of"], split_digits=True,
    ),
    "bpe": dict(model_type="bpe", vocab_size=1000, normalization_rule_name="identity"),
    "unigram_suffix": dict(
        model_type="unigram", vocab_size=800, normalization_rule_name="identity", treat_whitespace_as_suffix=True,
        remove_extra_whitespaces=False,
    ),
    "bpe_bytes": dict(
        model_type="bpe", vocab_size=1500, byte_fallback=True, normalization_rule_name="identity",
        add_dummy_prefix=False, remove_extra_whitespaces=False, split_digits=True,
        allow_whitespace_only_pieces=True, pad_id=0, eos_id=1, bos_id=2, unk_id=3,
        user_defined_symbols=["<mask>", "<start_of_turn>", "<end_of_turn>"],
    ),
}


def models():
    import sentencepiece as spm

    os.makedirs(OUT, exist_ok=True)
    texts = corpus()
    for name, kw in MODELS.items():
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(texts), model_prefix=os.path.join(OUT, name), num_threads=1,
            character_coverage=0.9995, shuffle_input_sentence=False, minloglevel=2, **kw
        )
        os.remove(os.path.join(OUT, name + ".vocab"))
        print("wrote", name + ".model", os.path.getsize(os.path.join(OUT, name + ".model")), "bytes")
    siglip_folder()
    gemma_folders()


def siglip_folder():
    """siglip/tokenizer_config.json: what SiglipTokenizer.save_pretrained writes
    beside spiece.model (= unigram_nfkc.model, copied there by the Go test and
    by goldens)."""
    from transformers import SiglipTokenizer

    tmp = tempfile.mkdtemp(prefix="goclip-spm-")
    SiglipTokenizer(os.path.join(OUT, "unigram_nfkc.model")).save_pretrained(tmp)
    d = os.path.join(OUT, "siglip")
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(tmp, "tokenizer_config.json"), d)
    shutil.rmtree(tmp)
    print("wrote siglip/tokenizer_config.json")


def gemma_tokenizer_json(model_file):
    """tokenizer.json in the layout of google/gemma-* and google/siglip2-*."""
    import sentencepiece as spm
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers, processors
    from tokenizers.models import BPE
    from transformers.tokenization_utils_sentencepiece import SentencePieceExtractor

    sp = spm.SentencePieceProcessor(model_file=model_file)
    vocab, _, merges = SentencePieceExtractor(model_file).extract(
        {sp.id_to_piece(i): sp.get_score(i) for i in range(sp.get_piece_size())}
    )
    tok = Tokenizer(BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    special = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"]
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in special if t in vocab])
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A", pair="<bos> $A <bos> $B", special_tokens=[("<bos>", vocab["<bos>"])]
    )
    return tok


def gemma_folders():
    from transformers import GemmaTokenizer

    model_file = os.path.join(OUT, "bpe_bytes.model")
    # bpe_bytes.model names its specials <pad>, </s>, <s>, <unk>; Gemma's are <pad>, <eos>, <bos>, <unk>.
    tmp = tempfile.mkdtemp(prefix="goclip-spm-")
    renamed = os.path.join(tmp, "gemma.model")
    rename_specials(model_file, renamed, {"</s>": "<eos>", "<s>": "<bos>"})
    tok = gemma_tokenizer_json(renamed)
    for folder, cfg in [
        ("gemma", dict(add_bos_token=True, add_eos_token=False)),
        ("siglip2", dict(add_bos_token=False, add_eos_token=True, padding_side="right", model_max_length=64, do_lower_case=True)),
    ]:
        d = os.path.join(OUT, folder)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        tok.save(os.path.join(tmp, "tokenizer.json"))
        t = GemmaTokenizer(tokenizer_file=os.path.join(tmp, "tokenizer.json"), **cfg)
        t.save_pretrained(d)
        for extra in ("special_tokens_map.json", "chat_template.jinja"):
            if os.path.exists(os.path.join(d, extra)):
                os.remove(os.path.join(d, extra))
        # transformers 5 does not save add_bos_token/add_eos_token; the Hub's
        # Gemma and SigLIP 2 folders (saved by transformers 4) have them.
        cp = os.path.join(d, "tokenizer_config.json")
        c = json.load(open(cp))
        c.update({k: v for k, v in cfg.items() if k.startswith("add_")})
        json.dump(c, open(cp, "w"), indent=2, sort_keys=True)
        print("wrote", folder, sorted(os.listdir(d)))
    shutil.rmtree(tmp)


def gemma_added(d):
    """gemma/ with two more added tokens, as Gemma's tokenizer.json has: "<table>"
    (special false, normalized false) and "  " (normalized true, so matched on
    the normalized text as "▁▁"). Not committed: the Go test builds the same."""
    os.makedirs(d)
    t = json.load(open(os.path.join(OUT, "gemma", "tokenizer.json"), encoding="utf-8"))
    n = len(t["model"]["vocab"])
    for i, (content, normalized) in enumerate([("<table>", False), ("  ", True)]):
        t["model"]["vocab"][content] = n + i
        t["added_tokens"].append({"id": n + i, "content": content, "single_word": False, "lstrip": False,
                                  "rstrip": False, "normalized": normalized, "special": False})
    json.dump(t, open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
    shutil.copy(os.path.join(OUT, "gemma", "tokenizer_config.json"), d)


def siglip2_lower(d):
    """siglip2/ with tokenizer_class Siglip2Tokenizer (transformers' class for
    model_type siglip2, which adds a Lowercase normalizer); not committed: the
    Go test builds the same folder."""
    os.makedirs(d)
    shutil.copy(os.path.join(OUT, "siglip2", "tokenizer.json"), d)
    c = json.load(open(os.path.join(OUT, "siglip2", "tokenizer_config.json")))
    c["tokenizer_class"] = "Siglip2Tokenizer"
    json.dump(c, open(os.path.join(d, "tokenizer_config.json"), "w"), indent=2, sort_keys=True)


def rename_specials(src, dst, names):
    from sentencepiece import sentencepiece_model_pb2 as pb

    m = pb.ModelProto()
    m.ParseFromString(open(src, "rb").read())
    for p in m.pieces:
        if p.piece in names:
            p.piece = names[p.piece]
    open(dst, "wb").write(m.SerializeToString())


# ---------------------------------------------------------------- goldens

EDGE = [
    "", " ", "   ", "\t\n", "a", "A", "a photo of a dog.", "A Photo Of A DOG!", "a  photo   of\ta\ndog",
    " leading", "trailing ", "  both  ", "▁", "▁▁", "a▁b", "▁a", "a▁", "▁ ▁", "a ▁ b", "\u2581photo",
    "</s>", "</s></s>", "a</s>", "</s>a", "a </s> b", "a</s>b", " </s> ", "<unk>", "<unk>x", "x<unk>", "<pad>",
    "<s>", "< /s>", "</S>", "<UNK>", "<mask>", "a<mask>b", "qq", "QQ", "qqq", "photo of", "a photo of a",
    "<start_of_turn>user", "<end_of_turn>", "<bos>", "<eos>", "<eos>x", "x <eos> y",
    "{}", "a photo of a {}.", "it's", "don't", "U.S.A.", "e-mail", "a_b", "#1", "100%", "$5", "@home",
    "hello, world!", "...", "!!!", "a.b", "«quote»", "“smart quotes”", "‘single’", "—dash–", "¿qué?", "¡hola!",
    "İstanbul", "ΣΑΣ", "ὈΔΥΣΣΕΎΣ", "ΑΣ ΑΣ", "Σ", "aΣ", "AΣb", "A'Σ", "A.Σ", "ΑΣ'", "ΑΣ.", "\u0130\u0131", "ẞ",
    "ǅ", "Ⅻ", "ⓐⒶ", "ＡＢＣ", "ｆｕｌｌ", "ﬁ", "café", "cafe\u0301", "Å", "Å", "①②", "½", "™", "㎏", "ﾊﾝｶｸ",
    "\u00a0", "a\u00a0b", "a\u3000b", "a\u2028b", "a\u0085b", "a\u200bb", "a\ufeffb", "a\u001cb", "a\x00b",
    "a\x7fb", "\r\n", "tab\there", "\x0b\x0c", "日本語のテキスト", "中文", "한국어", "Москва", "עברית",
    "العربية", "हिन्दी", "ภาษาไทย", "😀", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "❤️", "\U0010fffd", "\ue000",
    "0123456789", "3.14159", "1,000,000", "2nd", "v1.2.3",
    "a <table> b", "<table><table>", "x<table>y  z", "<TABLE>", "<table", "  ", "a  b   c    d",
]


def long_texts():
    base = "a very long caption describing a busy street scene with many people, cars, bicycles and shops "
    return [
        base * 3, base * 40, " ".join(str(i) for i in range(300)), "word " * 200, "a" * 3000,
        "supercalifragilisticexpialidocious" * 50, "\U0001f600" * 200, "</s>" * 80, "x" + " " * 3000 + "y",
        "".join(chr(0x4E00 + i) for i in range(400)), "a photo of a dog. " * 60, "▁" * 500,
    ]


def random_unicode(n, seed):
    """Seeded random strings: code points from all planes, weighted towards
    ASCII, Latin, Greek, Cyrillic, CJK, combining marks, spaces and punctuation."""
    rng = random.Random(seed)
    pools = [
        (0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x2000, 0x206F),
        (0x2100, 0x2BFF), (0x3000, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xFF00, 0xFFEF),
        (0x1F300, 0x1FAFF), (0x0, 0x10FFFF),
    ]
    out = []
    for _ in range(n):
        k = rng.randint(1, 24)
        s = []
        for _ in range(k):
            lo, hi = rng.choice(pools)
            c = rng.randint(lo, hi)
            if 0xD800 <= c <= 0xDFFF:
                c = 0xFFFD
            s.append(chr(c))
        out.append("".join(s))
    return out


def random_words(n, seed):
    """Seeded random mixtures of English words, SigLIP specials and punctuation."""
    rng = random.Random(seed)
    words = "a photo of the dog cat car on in with and license software copy free GNU Photo DOG".split()
    words += ["</s>", "<unk>", "<pad>", "<mask>", "<eos>", "<bos>", "qq", "▁", ",", ".", "!", "'", "-", " ", "  ", "\t",
              "\n", "\u00a0", "Σ", "İ", "ﬁ", "é", "e\u0301", "😀", "日本", "123", "{}", "<start_of_turn>"]
    return ["".join(rng.choice(words) + rng.choice(["", " "]) for _ in range(rng.randint(1, 30))) for _ in range(n)]


def cases():
    import importlib.util

    spec = importlib.util.spec_from_file_location("cliptok", os.path.join(HERE, "tokenizer.py"))
    cliptok = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cliptok)

    texts = EDGE + cliptok.cases() + long_texts() + random_unicode(1200, 20261130) + random_words(800, 1130)
    seen, out = set(), []
    for t in texts:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def siglip_ids(tok, texts):
    padded = tok(texts, padding="max_length", truncation=True, max_length=MAXLEN)["input_ids"]
    plain = tok(texts)["input_ids"]
    return padded, plain


def goldens():
    import warnings

    import sentencepiece as spm
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer, SiglipTokenizer
    import transformers, tokenizers

    warnings.filterwarnings("ignore")
    texts = cases()
    shared = []
    if os.path.exists(SHARED):
        shared = [c["text"] for c in json.load(open(SHARED, encoding="utf-8"))["cases"]]
    out = {
        "versions": {"sentencepiece": spm.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "python": sys.version.split()[0]},
        "max_length": MAXLEN, "texts": texts, "shared_sha256": [hashlib.sha256(t.encode()).hexdigest()[:16] for t in shared],
        "models": {},
    }
    for name in MODELS:
        path = os.path.join(OUT, name + ".model")
        sp = spm.SentencePieceProcessor(model_file=path)
        tok = SiglipTokenizer(path)
        padded, plain = siglip_ids(tok, texts)
        spad, splain = siglip_ids(tok, shared) if shared else ([], [])
        m = {"spm": sp.encode(texts), "siglip_padded": padded, "shared_spm": sp.encode(shared),
             "shared_siglip_padded": spad}
        if name in ("unigram_nfkc", "bpe"):
            # untruncated ids where they are short (no byte fallback)
            m["siglip"], m["shared_siglip"] = plain, splain
        if name == "unigram_nfkc":
            m["siglip_nolower"] = SiglipTokenizer(path, do_lower_case=False)(texts)["input_ids"]
            # the folder as the Hub has it, loaded by AutoTokenizer, gives the same ids
            tmp = tempfile.mkdtemp(prefix="goclip-spm-")
            shutil.copy(path, os.path.join(tmp, "spiece.model"))
            shutil.copy(os.path.join(OUT, "siglip", "tokenizer_config.json"), tmp)
            auto = AutoTokenizer.from_pretrained(tmp)
            assert type(auto).__name__ == "SiglipTokenizer"
            assert auto(texts, padding="max_length", truncation=True, max_length=MAXLEN)["input_ids"] == padded
            shutil.rmtree(tmp)
        out["models"][name] = m
        print(name, "done")
    tmp = tempfile.mkdtemp(prefix="goclip-spm-")
    siglip2_lower(os.path.join(tmp, "siglip2_lower"))
    for folder in ("gemma", "siglip2", "siglip2_lower"):
        d = os.path.join(tmp if folder == "siglip2_lower" else OUT, folder)
        raw = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        tok = AutoTokenizer.from_pretrained(d)
        raw_ids = [e.ids for e in raw.encode_batch(texts, add_special_tokens=False)]
        # the pipeline transformers runs (for Siglip2Tokenizer: with its Lowercase)
        backend = tok(texts, add_special_tokens=False)["input_ids"]
        if folder != "siglip2_lower":
            assert backend == raw_ids, folder
        padded = tok(texts, padding="max_length", truncation=True, max_length=MAXLEN)
        full = tok(texts)["input_ids"]
        probe, probe_raw = tok("a")["input_ids"], raw.encode("a", add_special_tokens=False).ids
        k = next(i for i in range(len(probe)) if probe[i : i + len(probe_raw)] == probe_raw)
        pre, post = probe[:k], probe[k + len(probe_raw) :]
        # transformers' untruncated ids are the raw ids in the template: checked here, not stored.
        assert all(f == pre + r + post for f, r in zip(full, backend)), folder
        m = {"class": type(tok).__name__, "padding_side": tok.padding_side, "hf_padded": padded["input_ids"],
             "hf_padded_mask": padded["attention_mask"],
             "shared_hf_padded": tok(shared, padding="max_length", truncation=True, max_length=MAXLEN)["input_ids"] if shared else []}
        if folder == "gemma":
            m["raw"] = raw_ids
        out["models"][folder] = m
        print(folder, type(tok).__name__, "done")
    gemma_added(os.path.join(tmp, "gemma_added"))
    d = os.path.join(tmp, "gemma_added")
    raw = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    raw_ids = [e.ids for e in raw.encode_batch(texts, add_special_tokens=False)]
    assert AutoTokenizer.from_pretrained(d)(texts, add_special_tokens=False)["input_ids"] == raw_ids
    idx = [i for i, t in enumerate(texts) if "<table>" in t or "  " in t]
    out["models"]["gemma_added"] = {"idx": idx, "raw": [raw_ids[i] for i in idx]}
    print("gemma_added: %d texts with the added tokens" % len(idx))
    shutil.rmtree(tmp)
    path = os.path.join(OUT, "golden.json.gz")
    data = json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with open(path + ".tmp", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(data)  # mtime 0: a rerun writes the same bytes
    os.replace(path + ".tmp", path)
    print("wrote %s: %d cases, %d shared, %d bytes" % (path, len(texts), len(shared), os.path.getsize(path)))


# ---------------------------------------------------------------- tables


def ranges(cps):
    out = []
    for c in sorted(cps):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def tables():
    from tokenizers import normalizers

    rust = normalizers.Lowercase()
    lower, ign, cased, space, rlower = [], [], [], [], []
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        if ch.isspace():
            space.append(c)
        if c != 0x3A3 and ch.lower() != ch:
            lower.append((c, ch.lower()))
        rl = rust.normalize_str(ch)
        if rl != ch:
            rlower.append((c, rl))
        p1 = ("1" + ch + "\u03a3").lower()[-1] == "\u03c2"  # c cased and not case-ignorable
        p2 = ("A" + ch + "\u03a3").lower()[-1] == "\u03c2"  # c case-ignorable, or cased
        if p2 and not p1:
            ign.append(c)
        if p1:
            cased.append(c)
    w = []
    w.append("// Code generated by tools/goldens/sentencepiece.py tables; DO NOT EDIT.\n")
    w.append("// Measured from Python %s (Unicode %s).\n\npackage sentencepiece\n" % (sys.version.split()[0], __import__("unicodedata").unidata_version))
    w.append("\n// pyLower maps every code point whose str.lower() differs from it (except\n// U+03A3, see lowerSigma) to its single-rune lowercase; U+0130 is special-cased.\nvar pyLower = [...][2]rune{\n")
    for c, l in lower:
        if len(l) == 1:
            w.append("\t{0x%04X, 0x%04X},\n" % (c, ord(l)))
    w.append("}\n")
    multi = [(c, l) for c, l in lower if len(l) != 1]
    assert multi == [(0x130, "i\u0307")], multi
    w.append("\n// rustLower is the tokenizers library's Lowercase normalizer (Rust's\n// char::to_lowercase) for every code point it changes; U+0130 is special-cased.\nvar rustLower = [...][2]rune{\n")
    for c, l in rlower:
        if len(l) == 1:
            w.append("\t{0x%04X, 0x%04X},\n" % (c, ord(l)))
    w.append("}\n")
    multi = [(c, l) for c, l in rlower if len(l) != 1]
    assert multi == [(0x130, "i\u0307")], multi
    for name, doc, cps in [
        ("pySpace", "the code points of str.isspace() (re's \\s, str.strip())", space),
        ("pyCaseIgnorable", "the code points Python's Final_Sigma rule skips (Case_Ignorable)", ign),
        ("pyCased", "the code points Python's Final_Sigma rule counts as cased (and not case-ignorable)", cased),
    ]:
        w.append("\n// %s lists %s as ranges.\nvar %s = [...][2]rune{\n" % (name, doc, name))
        for lo, hi in ranges(cps):
            w.append("\t{0x%04X, 0x%04X},\n" % (lo, hi))
        w.append("}\n")
    path = os.path.join(ROOT, "tokenizer", "sentencepiece", "pyunicode_tables.go")
    open(path + ".tmp", "w").write("".join(w))
    os.replace(path + ".tmp", path)
    print("wrote", path, len(lower), "lower,", len(rlower), "rust lower,", len(space), "space,", len(ign), "ignorable,", len(cased), "cased")


if __name__ == "__main__":
    {"models": models, "goldens": goldens, "tables": tables}[sys.argv[1]]()
