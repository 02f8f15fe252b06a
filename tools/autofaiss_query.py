"""Reads goclip's bulk output as clip-retrieval's back end does and queries
an autofaiss index with it (see tools/autofaiss_check.sh).

  autofaiss_query.py paths OUT
      print the image_path column of OUT/metadata/*.parquet, in part order
      (the order autofaiss numbers the rows of OUT/img_emb/*.npy)
  autofaiss_query.py query OUT INDEX QUERY.safetensors PATHS
      search INDEX with every image_embeds row of QUERY (clip embed's
      output for the files in PATHS): the first hit must be the queried
      file's own row.
"""
import glob
import json
import os
import struct
import sys

import faiss
import numpy as np
import pandas as pd


def metadata(out):
    parts = sorted(glob.glob(os.path.join(out, "metadata", "metadata_*.parquet")))
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def safetensor(path, name):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    info = header[name]
    assert info["dtype"] == "F32", info
    start, end = info["data_offsets"]
    return np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"])


def main():
    cmd, out = sys.argv[1], sys.argv[2]
    meta = metadata(out)
    if cmd == "paths":
        for p in meta["image_path"]:
            print(p)
        return
    index_path, query_path, paths_path = sys.argv[3:6]
    index = faiss.read_index(index_path)
    embs = [np.load(p) for p in sorted(glob.glob(os.path.join(out, "img_emb", "img_emb_*.npy")))]
    total = sum(e.shape[0] for e in embs)
    assert index.ntotal == len(meta) == total, (index.ntotal, len(meta), total)
    assert all(e.dtype == np.float16 for e in embs), [e.dtype for e in embs]
    paths = open(paths_path).read().splitlines()
    q = safetensor(query_path, "image_embeds").astype("float32")
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    assert q.shape[0] == len(paths)
    scores, ids = index.search(q, 2)
    wrong = [(p, meta["image_path"][i[0]]) for p, i in zip(paths, ids) if meta["image_path"][i[0]] != p]
    margin = float(np.min(scores[:, 0] - scores[:, 1]))
    print(f"{index.ntotal} rows in a {type(faiss.downcast_index(index)).__name__} index; "
          f"{len(paths) - len(wrong)}/{len(paths)} queries return their own image first "
          f"(smallest gap to the second hit {margin:.2e}); columns {list(meta.columns)}")
    if wrong:
        for p, got in wrong[:10]:
            print(f"query {p}: first hit {got}")
        sys.exit(1)


if __name__ == "__main__":
    main()
