package index

import (
	"math/rand/v2"
	"testing"

	"github.com/goclip/goclip/internal/half"
)

// TestFloat16Recall measures what float16 storage costs: recall@10 of
// the float16 rows against the exact float32 top 10, on 20,000 512-d rows
// drawn around 200 centres (near neighbours are close, as CLIP image
// embeddings of similar photos are) and 100 queries that are perturbed
// rows. Float16 keeps 11 significant bits, a relative error of 2^-12 per
// value, about 1e-4 on a cosine: it only swaps neighbours whose scores
// are that close. The bar, 0.99, is what the measurement (printed)
// clears with room; a scan that misread the float16 rows would score near
// 0.
func TestFloat16Recall(t *testing.T) {
	const n, d, centres, nq, k = 20000, 512, 200, 100, 10
	r := rand.New(rand.NewPCG(3, 4))
	c := make([]float32, centres*d)
	for i := range c {
		c[i] = float32(r.NormFloat64())
	}
	vecs := make([]float32, n*d)
	for i := range n {
		ci := r.IntN(centres)
		for j := range d {
			vecs[i*d+j] = c[ci*d+j] + 0.3*float32(r.NormFloat64())
		}
		normalize(vecs[i*d : (i+1)*d])
	}
	rounded := make([]float32, len(vecs))
	for i, v := range vecs {
		rounded[i] = half.ToFloat32(half.FromFloat32(v))
	}
	mk := func(v []float32) *Index {
		ix := &Index{manifest: Manifest{Dim: d, Count: n}, records: make([]Record, n)}
		if err := ix.setRows(v); err != nil {
			t.Fatal(err)
		}
		return ix
	}
	queries := make([][]float32, nq)
	for i := range queries {
		row := r.IntN(n)
		q := make([]float32, d)
		for j := range q {
			q[j] = vecs[row*d+j] + 0.05*float32(r.NormFloat64())
		}
		queries[i] = q
	}
	exact, err := mk(vecs).Search(queries, k)
	if err != nil {
		t.Fatal(err)
	}
	approx, err := mk(rounded).Search(queries, k)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for i := range queries {
		want := map[int]bool{}
		for _, h := range exact[i] {
			want[h.Row] = true
		}
		for _, h := range approx[i] {
			if want[h.Row] {
				found++
			}
		}
	}
	recall := float64(found) / (nq * k)
	t.Logf("float16 recall@%d vs float32: %.4f", k, recall)
	if recall < 0.99 {
		t.Fatalf("float16 recall@%d = %.4f, want ≥ 0.99", k, recall)
	}
}
