// Package evaluate accumulates zero-shot classification results and reports
// the metrics LAION's CLIP_benchmark reports (top-1 and top-5 accuracy, mean
// per-class recall), plus per-class recall and the most frequent confusions.
package evaluate

import (
	"errors"
	"fmt"
	"sort"
)

// Metrics accumulates predictions for a classification set of NumClasses
// classes. The zero value is not usable; call NewMetrics.
type Metrics struct {
	NumClasses int
	N          int            // samples seen (Bad included: N is a position in the stream)
	Bad        int            // samples skipped as undecodable (Config.SkipBad); not scored
	Top1       int            // samples whose label ranked first
	Top5       int            // samples whose label ranked in the first five
	Support    []int          // [class] samples with that label
	Correct    []int          // [class] samples with that label ranked first
	Confusions map[[2]int]int // (label, predicted) → count, label ≠ predicted
}

// NewMetrics returns an empty accumulator for numClasses classes.
func NewMetrics(numClasses int) (*Metrics, error) {
	if numClasses <= 0 {
		return nil, fmt.Errorf("evaluate: %d classes", numClasses)
	}
	return &Metrics{
		NumClasses: numClasses,
		Support:    make([]int, numClasses),
		Correct:    make([]int, numClasses),
		Confusions: map[[2]int]int{},
	}, nil
}

// Add records one sample with true class label and its class scores
// (logits or similarities, higher is better; len(scores) == NumClasses).
// Ties rank the lower class index first, as torch.topk does in practice.
func (m *Metrics) Add(label int, scores []float32) error {
	if label < 0 || label >= m.NumClasses {
		return fmt.Errorf("evaluate: label %d outside 0…%d", label, m.NumClasses-1)
	}
	if len(scores) != m.NumClasses {
		return fmt.Errorf("evaluate: %d scores for %d classes", len(scores), m.NumClasses)
	}
	// rank = number of classes that beat the label's score.
	s := scores[label]
	rank, best := 0, 0
	for c, v := range scores {
		if v > s || (v == s && c < label) {
			rank++
		}
		if v > scores[best] {
			best = c
		}
	}
	m.N++
	m.Support[label]++
	if rank == 0 {
		m.Top1++
		m.Correct[label]++
	} else {
		m.Confusions[[2]int{label, best}]++
	}
	if rank < 5 {
		m.Top5++
	}
	return nil
}

// Merge adds the counts of o (same number of classes) into m.
func (m *Metrics) Merge(o *Metrics) error {
	if o.NumClasses != m.NumClasses {
		return errors.New("evaluate: merging metrics with different class counts")
	}
	m.N += o.N
	m.Bad += o.Bad
	m.Top1 += o.Top1
	m.Top5 += o.Top5
	for c := range m.Support {
		m.Support[c] += o.Support[c]
		m.Correct[c] += o.Correct[c]
	}
	for k, v := range o.Confusions {
		m.Confusions[k] += v
	}
	return nil
}

// Acc1 is the top-1 accuracy in [0,1] over the scored samples (N - Bad).
func (m *Metrics) Acc1() float64 { return ratio(m.Top1, m.N-m.Bad) }

// Acc5 is the top-5 accuracy in [0,1] over the scored samples (N - Bad).
func (m *Metrics) Acc5() float64 { return ratio(m.Top5, m.N-m.Bad) }

// ClassRecall is the recall of class c, or NaN-free 0 when it has no samples.
func (m *Metrics) ClassRecall(c int) float64 { return ratio(m.Correct[c], m.Support[c]) }

// MeanPerClassRecall averages recall over the classes that have samples,
// as sklearn's balanced_accuracy_score (CLIP_benchmark's metric) does.
func (m *Metrics) MeanPerClassRecall() float64 {
	var sum float64
	n := 0
	for c, s := range m.Support {
		if s > 0 {
			sum += m.ClassRecall(c)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// Confusion is one (true class, predicted class) pair and how often it occurred.
type Confusion struct {
	Label, Predicted, Count int
}

// TopConfusions returns the k most frequent mistakes, most frequent first
// (ties by label, then prediction).
func (m *Metrics) TopConfusions(k int) []Confusion {
	out := make([]Confusion, 0, len(m.Confusions))
	for p, n := range m.Confusions {
		out = append(out, Confusion{p[0], p[1], n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Label != b.Label {
			return a.Label < b.Label
		}
		return a.Predicted < b.Predicted
	})
	if k < len(out) {
		out = out[:k]
	}
	return out
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
