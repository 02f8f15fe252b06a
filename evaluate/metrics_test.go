package evaluate

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/goclip/goclip/internal/metricsref"
)

// toF64 widens float32 score vectors for metricsref, the independent
// (sorting-based) reference.
func toF64(scores [][]float32) [][]float64 {
	out := make([][]float64, len(scores))
	for i, s := range scores {
		out[i] = make([]float64, len(s))
		for j, v := range s {
			out[i][j] = float64(v)
		}
	}
	return out
}

func TestMetricsAgainstSorting(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const classes, n = 37, 500
	labels := make([]int, n)
	scores := make([][]float32, n)
	m, _ := NewMetrics(classes)
	for i := range scores {
		labels[i] = r.IntN(classes)
		scores[i] = make([]float32, classes)
		for j := range scores[i] {
			scores[i][j] = r.Float32()
		}
		scores[i][labels[i]] += 0.3 // make correct predictions common but not universal
		if err := m.Add(labels[i], scores[i]); err != nil {
			t.Fatal(err)
		}
	}
	a1, a5, mp := metricsref.Metrics(toF64(scores), labels, classes)
	if m.Acc1() != a1 || m.Acc5() != a5 || math.Abs(m.MeanPerClassRecall()-mp) > 1e-12 {
		t.Fatalf("got %v %v %v, want %v %v %v", m.Acc1(), m.Acc5(), m.MeanPerClassRecall(), a1, a5, mp)
	}
	if a1 == 0 || a1 == 1 || a5 == a1 {
		t.Fatalf("degenerate test data: acc1 %v acc5 %v", a1, a5)
	}

	// Split, merge, and round trip through a results file: same numbers.
	h1, _ := NewMetrics(classes)
	h2, _ := NewMetrics(classes)
	for i := range scores {
		h := h1
		if i >= n/2 {
			h = h2
		}
		h.Add(labels[i], scores[i])
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := h1.Results("d", "m", "names", false).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	rr, err := ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	back, err := rr.Restore()
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Merge(h2); err != nil {
		t.Fatal(err)
	}
	if back.Acc1() != m.Acc1() || back.Acc5() != m.Acc5() || back.MeanPerClassRecall() != m.MeanPerClassRecall() {
		t.Fatalf("resumed %v/%v/%v, uninterrupted %v/%v/%v", back.Acc1(), back.Acc5(), back.MeanPerClassRecall(), m.Acc1(), m.Acc5(), m.MeanPerClassRecall())
	}
	if got, want := back.TopConfusions(10), m.TopConfusions(10); len(got) != len(want) || got[0] != want[0] {
		t.Fatalf("confusions differ after resume: %v vs %v", got, want)
	}
}

func TestMetricsErrors(t *testing.T) {
	if _, err := NewMetrics(0); err == nil {
		t.Fatal("NewMetrics(0) succeeded")
	}
	m, _ := NewMetrics(3)
	if m.Add(3, []float32{1, 2, 3}) == nil || m.Add(0, []float32{1}) == nil {
		t.Fatal("bad label or score length accepted")
	}
}
