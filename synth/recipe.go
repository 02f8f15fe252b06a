// Package synth makes deterministic synthetic CLIP weights and complete
// Hugging Face-style model folders, for tests and benchmarks without
// downloads or Python.
//
// The recipe (the project's reference README, "The synthetic-weight
// recipe") fills a tensor from a counter-based generator: splitmix64 of a
// hash of the tensor's name and seed and of the element index, scaled by a
// per-name (center, halfwidth). It reproduces the reference numpy
// implementation bit for bit.
package synth

import (
	"runtime"
	"strings"
	"sync"
)

const (
	m1       = 0x9E3779B97F4A7C15
	m2       = 0xBF58476D1CE4E5B9
	m3       = 0x94D049BB133111EB
	seedMul  = 0x5851F42D4C957F2D
	fnvBasis = 0xCBF29CE484222325
	fnvPrime = 0x100000001B3
)

// fnv1a64 hashes the UTF-8 bytes of s.
func fnv1a64(s string) uint64 {
	h := uint64(fnvBasis)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// Scale returns the (center, halfwidth) of the uniform distribution the
// recipe uses for a tensor name; the first matching rule wins.
func Scale(name string) (center, halfwidth float64) {
	switch {
	case name == "logit_scale":
		return 4.6052, 0
	case name == "logit_bias": // SigLIP
		return -10, 0
	case isOpenCLIPNorm(name): // OpenCLIP's ln_1, ln_2, ln_pre, ln_post, ln_final
		return 1, 0.25
	case strings.HasSuffix(name, "layer_norm1.weight"), strings.HasSuffix(name, "layer_norm2.weight"),
		strings.HasSuffix(name, "layernorm.weight"), strings.HasSuffix(name, "layrnorm.weight"),
		strings.HasSuffix(name, "final_layer_norm.weight"):
		return 1, 0.25
	case strings.HasSuffix(name, ".bias") && strings.Contains(name, "norm"):
		return 0, 0.1
	case strings.HasSuffix(name, ".bias"):
		return 0, 0.05
	case strings.Contains(name, "class_embedding"):
		return 0, 0.5
	case strings.Contains(name, "token_embedding"):
		return 0, 0.08
	case strings.Contains(name, "position_embedding"):
		return 0, 0.03
	case strings.Contains(name, "patch_embedding"):
		return 0, 0.035
	case strings.Contains(name, "q_proj"), strings.Contains(name, "k_proj"):
		return 0, 0.12
	case strings.Contains(name, "fc1"):
		return 0, 0.06
	}
	return 0, 0.035
}

// isOpenCLIPNorm reports a name "….ln_*.weight" (or "ln_*.weight").
func isOpenCLIPNorm(name string) bool {
	base, ok := strings.CutSuffix(name, ".weight")
	if !ok {
		return false
	}
	return strings.HasPrefix(base[strings.LastIndexByte(base, '.')+1:], "ln_")
}

// Tensor returns the recipe's values for a float tensor of the given shape
// (an empty shape is a scalar).
func Tensor(name string, shape []int, seed uint64) []float32 {
	n := 1
	for _, d := range shape {
		n *= d
	}
	dst := make([]float32, n)
	Fill(dst, name, seed)
	return dst
}

// Fill writes the recipe's values for name into dst (len(dst) elements,
// row-major), in parallel for large tensors.
func Fill(dst []float32, name string, seed uint64) {
	c, a := Scale(name)
	if a == 0 {
		v := float32(c)
		for i := range dst {
			dst[i] = v
		}
		return
	}
	base := fnv1a64(name) ^ seed*seedMul
	const chunk = 1 << 16
	if len(dst) <= chunk {
		fillRange(dst, 0, base, c, a)
		return
	}
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	per := (len(dst) + workers - 1) / workers
	for lo := 0; lo < len(dst); lo += per {
		hi := min(lo+per, len(dst))
		wg.Add(1)
		go func() {
			defer wg.Done()
			fillRange(dst[lo:hi], lo, base, c, a)
		}()
	}
	wg.Wait()
}

// fillRange fills dst with elements first, first+1, … of the stream.
func fillRange(dst []float32, first int, base uint64, c, a float64) {
	for i := range dst {
		z := base + uint64(first+i+1)*m1
		z = (z ^ z>>30) * m2
		z = (z ^ z>>27) * m3
		z ^= z >> 31
		u := float64(z>>40) / (1 << 24)
		dst[i] = float32(c + a*(u*2-1))
	}
}
