package clip

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Normalize scales every row of v to unit L2 norm, in place (rows of zeros
// stay zero).
func Normalize(v [][]float32) {
	for _, r := range v {
		normalizeRow(r, r)
	}
}

// Normalized returns a copy of v with every row scaled to unit L2 norm
// (rows of zeros stay zero); v is not modified.
func Normalized(v [][]float32) [][]float32 {
	out := make([][]float32, len(v))
	for i, r := range v {
		out[i] = make([]float32, len(r))
		normalizeRow(out[i], r)
	}
	return out
}

func normalizeRow(dst, r []float32) {
	n := norm64(r)
	if n == 0 {
		copy(dst, r)
		return
	}
	inv := 1 / n
	for i, x := range r {
		dst[i] = float32(float64(x) * inv)
	}
}

// Similarity returns the cosine-similarity matrix [len(a)][len(b)]; a and
// b need not be normalised and are not modified. Every row must have the
// same length.
func Similarity(a, b [][]float32) ([][]float32, error) {
	if err := sameDim(a, b); err != nil {
		return nil, err
	}
	na, nb := norms(a), norms(b)
	out := make([][]float32, len(a))
	for i, x := range a {
		out[i] = make([]float32, len(b))
		for j, y := range b {
			if d := na[i] * nb[j]; d != 0 {
				out[i][j] = float32(dot64(x, y) / d)
			}
		}
	}
	return out, nil
}

// Logits returns CLIP's logits_per_image [len(images)][len(texts)]:
// LogitScale times the cosine similarity, plus LogitBias (SigLIP; 0 for
// CLIP). The inputs are not modified;
// every row must have the same length.
func (m *Model) Logits(images, texts [][]float32) ([][]float32, error) {
	s, err := Similarity(images, texts)
	if err != nil {
		return nil, err
	}
	for _, r := range s {
		for j := range r {
			r[j] = r[j]*m.logitScale + m.logitBias
		}
	}
	return s, nil
}

// Match is one ranked item: its index in the items given to Rank and its
// cosine similarity to the query.
type Match struct {
	Index int     `json:"index"`
	Score float32 `json:"score"`
}

// Rank returns the k items most similar to query by cosine similarity,
// best first (ties: lower index first); k <= 0 or k > len(items) means all.
// Neither input need be normalised; every row must have query's length.
func Rank(query []float32, items [][]float32, k int) ([]Match, error) {
	if err := sameDim([][]float32{query}, items); err != nil {
		return nil, err
	}
	nq := norm64(query)
	ms := make([]Match, len(items))
	for i, it := range items {
		ms[i].Index = i
		if d := nq * norm64(it); d != 0 {
			ms[i].Score = float32(dot64(query, it) / d)
		}
	}
	slices.SortStableFunc(ms, func(a, b Match) int { return cmp.Compare(b.Score, a.Score) })
	if k > 0 && k < len(ms) {
		ms = ms[:k:k]
	}
	return ms, nil
}

// sameDim reports rows of different lengths among a and b.
func sameDim(a, b [][]float32) error {
	d := -1
	for _, set := range [2][][]float32{a, b} {
		for i, r := range set {
			if d < 0 {
				d = len(r)
			} else if len(r) != d {
				return fmt.Errorf("clip: embedding %d has length %d, want %d (rows of different models?)", i, len(r), d)
			}
		}
	}
	return nil
}

func dot64(x, y []float32) float64 {
	var s float64
	for k := range x {
		s += float64(x[k]) * float64(y[k])
	}
	return s
}

func norms(v [][]float32) []float64 {
	n := make([]float64, len(v))
	for i, r := range v {
		n[i] = norm64(r)
	}
	return n
}

// norm64 is the L2 norm of v, accumulated in float64.
func norm64(v []float32) float64 {
	return math.Sqrt(dot64(v, v))
}
