package tensor

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkPackBT times the load-time packing of fc1 of ViT-B/32
// ([3072,768] into panels), source and destination already resident.
func BenchmarkPackBT(b *testing.B) {
	w := randSlice(rand.New(rand.NewPCG(3, 3)), 3072*768)
	dst := make([]float32, packedLen(simd, 3072, 768))
	b.ReportAllocs()
	b.SetBytes(int64(4 * len(w)))
	for b.Loop() {
		packBT(simd, dst, w, 768, 3072, 768)
	}
}
