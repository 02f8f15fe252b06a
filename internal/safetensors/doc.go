// Package safetensors is the project's one reader and writer of
// safetensors files: memory-mapped checkpoints (single files and the shards
// of model.safetensors.index.json) with F32/F16/BF16 tensors converted to
// float32, and the float32 writer used for embeddings, classifiers and
// synthetic checkpoints. Its errors are reported by package clip, so their
// messages carry the "clip: " prefix.
package safetensors
