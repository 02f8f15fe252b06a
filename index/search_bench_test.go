package index

import (
	"math/rand/v2"
	"testing"
)

// randomIndex builds an in-memory index of n random normalised rows.
func randomIndex(n, d int, seed uint64) (*Index, []float32) {
	r := rand.New(rand.NewPCG(seed, 1))
	ix := &Index{manifest: Manifest{Dim: d, Count: n, DType: Float32}, records: make([]Record, n)}
	vecs := make([]float32, n*d)
	for i := range vecs {
		vecs[i] = float32(r.NormFloat64())
	}
	for i := range n {
		normalize(vecs[i*d : (i+1)*d])
	}
	if err := ix.setRows(vecs); err != nil {
		panic(err)
	}
	return ix, vecs
}

// BenchmarkSearch1M is the bar: one query against 1,000,000
// 512-d rows (2 GiB of float32). Run with
//
//	go test ./index -run XXX -bench Search1M -benchtime 10x
func BenchmarkSearch1M(b *testing.B) {
	ix, vecs := randomIndex(1_000_000, 512, 1)
	q := [][]float32{vecs[12345*512 : 12346*512]}
	b.ResetTimer()
	for b.Loop() {
		if _, err := ix.Search(q, 10); err != nil {
			b.Fatal(err)
		}
	}
}
