"""Checks `clip serve` and `clip index export` with real Python clients.

Run by check.sh (which builds clip, a tiny synthetic model, an index and
starts the server). Arguments: BASE_URL MODEL API_KEY EMBED.safetensors
TEXTS.jsonl IMAGE INDEX_DIR INDEX.faiss SEARCH.json

- The official `openai` client (PyPI) calls POST /v1/embeddings for texts
  (default base64 encoding and "float") and for an image as a data: URL
  (extra_body={"modality": "image"}); the embeddings equal `clip embed`'s
  after normalising (cosine >= 0.99999: the same float32 computation, only
  the normalisation differs).
- Errors arrive as the client's typed exceptions (404 model, 401 key).
- `faiss.read_index` (faiss-cpu from PyPI) opens the exported file; a
  search with an indexed image's embedding finds that image first and the
  scores equal `clip index search --json`'s.
"""
import base64
import json
import struct
import sys

import faiss
import numpy as np
import openai

url, model, key, embed_path, texts_path, image, index_dir, faiss_path, search_json = sys.argv[1:]


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", t
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(t["shape"])
    return out


def unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


ref = read_safetensors(embed_path)
texts = [json.loads(l) for l in open(texts_path) if l.strip()]
client = openai.OpenAI(base_url=url + "/v1", api_key=key)

for fmt in (openai.NOT_GIVEN, "float"):
    r = client.embeddings.create(model=model, input=texts, encoding_format=fmt)
    got = np.array([d.embedding for d in r.data])
    cos = np.sum(unit(got) * unit(ref["text_embeds"]), axis=1)
    assert got.shape == ref["text_embeds"].shape, got.shape
    assert np.all(cos >= 0.99999), cos
    assert np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    assert r.usage.prompt_tokens > 0 and r.model == model
    print(f"openai client texts ({fmt if isinstance(fmt, str) else 'default'}): min cosine {cos.min():.7f}")

data_url = "data:image/png;base64," + base64.b64encode(open(image, "rb").read()).decode()
r = client.embeddings.create(model=model, input=[data_url], extra_body={"modality": "image"})
got = np.array([d.embedding for d in r.data])
cos = float(np.sum(unit(got[0]) * unit(ref["image_embeds"][0])))
assert cos >= 0.99999, cos
print(f"openai client image: cosine {cos:.7f}")

try:
    client.embeddings.create(model="not-" + model, input="x")
    raise SystemExit("wrong model accepted")
except openai.NotFoundError as e:
    print("wrong model:", e.status_code)
try:
    openai.OpenAI(base_url=url + "/v1", api_key="wrong").embeddings.create(model=model, input="x")
    raise SystemExit("wrong key accepted")
except openai.AuthenticationError as e:
    print("wrong key:", e.status_code)

manifest = json.load(open(index_dir + "/manifest.json"))
meta = [json.loads(l) for l in open(index_dir + "/" + manifest["metadata"])]
emb = np.load(index_dir + "/" + manifest["embeddings"])
assert emb.shape == (manifest["count"], manifest["dim"]), emb.shape
assert np.allclose(np.linalg.norm(emb.astype(np.float64), axis=1), 1, atol=1e-5)
ix = faiss.read_index(faiss_path)
assert ix.ntotal == manifest["count"] and ix.d == manifest["dim"], (ix.ntotal, ix.d)
assert ix.metric_type == faiss.METRIC_INNER_PRODUCT
q = unit(ref["image_embeds"][:1]).astype(np.float32)
scores, ids = ix.search(q, 5)
want = json.load(open(search_json))
assert meta[ids[0][0]]["path"] == want[0]["path"], (meta[ids[0][0]], want[0])
assert [meta[i]["path"] for i in ids[0]] == [w["path"] for w in want[:5]], (ids, want)
assert np.allclose(scores[0], [w["score"] for w in want[:5]], atol=1e-5), (scores, want)
print(f"faiss.read_index: {ix.ntotal} x {ix.d}, top-5 equals clip index search (top score {scores[0][0]:.6f})")
print("OK")
