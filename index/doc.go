// Package index stores image embeddings on disk and searches them exactly.
//
// An index is a directory:
//
//	INDEX/
//	  manifest.json                  what the index is; written last
//	  embeddings-<sha256[:16]>.npy   [count, dim] float32 or float16, rows L2-normalised
//	  metadata-<sha256[:16]>.jsonl   one JSON object (a Record) per row, same order
//	  skipped.jsonl                  files the last build could not read or decode
//	  .partial/                      checkpoints of a build in progress (see Build)
//
// manifest.json (see Manifest) names the model and its revision, the
// dimension, row count, dtype, format version, and the two data files with
// their SHA-256. The data files are content-addressed and written before the
// manifest, which is replaced by an atomic rename: a reader that opens the
// manifest sees either the previous complete index or the new one, never a
// half-written one, and Open checks sizes and shapes against the manifest.
//
// Python reads an index with the standard library and numpy:
//
//	m = json.load(open("INDEX/manifest.json"))
//	emb = numpy.load("INDEX/" + m["embeddings"])            # (count, dim)
//	meta = [json.loads(l) for l in open("INDEX/" + m["metadata"])]
//
// Search is an exact scan: the normalised queries times every row (one
// GEMM of package tensor, SIMD), then a top-k selection, so scores are
// cosine similarities. Rows are held in memory as float32 whatever the
// stored dtype; float16 halves the file at a measured cost in recall (see
// the tests).
package index
