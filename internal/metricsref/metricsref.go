// Package metricsref is the tests' independent reference for zero-shot
// classification metrics: it ranks every score vector by sorting, as
// CLIP_benchmark does with torch.topk and sklearn's balanced accuracy,
// instead of counting ranks the way package evaluate does.
package metricsref

import "sort"

// Ranking returns class indices by descending score (ties: lower index first).
func Ranking(s []float64) []int {
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s[idx[a]] > s[idx[b]] })
	return idx
}

// Metrics computes top-1 and top-5 accuracy and mean per-class recall
// (over the classes that have samples) of scores [sample][class] against labels.
func Metrics(scores [][]float64, labels []int, classes int) (acc1, acc5, mpcr float64) {
	support, correct := make([]int, classes), make([]int, classes)
	for i, s := range scores {
		r := Ranking(s)
		support[labels[i]]++
		if r[0] == labels[i] {
			acc1++
			correct[labels[i]]++
		}
		for _, c := range r[:min(5, classes)] {
			if c == labels[i] {
				acc5++
			}
		}
	}
	n := 0
	for c := range support {
		if support[c] > 0 {
			mpcr += float64(correct[c]) / float64(support[c])
			n++
		}
	}
	return acc1 / float64(len(labels)), acc5 / float64(len(labels)), mpcr / float64(n)
}
