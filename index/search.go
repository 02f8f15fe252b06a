package index

import (
	"container/heap"
	"fmt"

	"github.com/goclip/goclip/tensor"
)

// Hit is one search result: a row and its cosine similarity to the query.
type Hit struct {
	Row   int
	Score float32
}

// maxScan bounds the score matrix of one Search call (queries × rows
// float32 values, 1 GiB), so a large query batch over a large index is
// refused instead of exhausting memory.
const maxScan = 1 << 28

// Search returns, for each query, the k rows with the highest cosine
// similarity, best first (ties: lower row first). Queries need not be
// normalised and are not modified. k larger than the index returns every
// row.
func (ix *Index) Search(queries [][]float32, k int) ([][]Hit, error) {
	d, n := ix.manifest.Dim, len(ix.records)
	if k <= 0 {
		return nil, fmt.Errorf("index: k = %d, want > 0", k)
	}
	if len(queries) > 0 && n > maxScan/len(queries) {
		return nil, fmt.Errorf("index: %d queries × %d rows is more than one scan holds; split the queries", len(queries), n)
	}
	q := make([]float32, len(queries)*d)
	for i, v := range queries {
		if len(v) != d {
			return nil, fmt.Errorf("index: query %d has dimension %d, the index %d", i, len(v), d)
		}
		copy(q[i*d:], v)
		normalize(q[i*d : (i+1)*d])
	}
	out := make([][]Hit, len(queries))
	if n == 0 || len(queries) == 0 {
		return out, nil
	}
	// queries·rowsᵀ with the rows as the Linear's packed weight: the
	// kernel streams the index once per call whatever the query count.
	nq := len(queries)
	scores := make([]float32, nq*n)
	ix.lin.Forward(ix.wk, scores, q, nq, tensor.ActNone)
	ix.wk.Parallel(nq, func(j int) { out[j] = topK(scores[j*n:(j+1)*n], k) })
	return out, nil
}

// topK selects the k best scores.
func topK(scores []float32, k int) []Hit {
	n := len(scores)
	k = min(k, n)
	h := make(hitHeap, 0, k)
	for i, s := range scores {
		if len(h) < k {
			heap.Push(&h, Hit{i, s})
		} else if s > h[0].Score { // equal score: the lower row, already in, wins
			h[0] = Hit{i, s}
			heap.Fix(&h, 0)
		}
	}
	out := make([]Hit, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&h).(Hit)
	}
	return out
}

// hitHeap is a min-heap by score; among equal scores the higher row is
// "smaller", so it leaves first and lower rows rank first.
type hitHeap []Hit

func (h hitHeap) Len() int { return len(h) }
func (h hitHeap) Less(a, b int) bool {
	if h[a].Score != h[b].Score {
		return h[a].Score < h[b].Score
	}
	return h[a].Row > h[b].Row
}
func (h hitHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *hitHeap) Push(x any)   { *h = append(*h, x.(Hit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
