package evaluate

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/goclip/goclip/internal/atomicfile"
)

// Results is the JSON written by `clip eval`: CLIP_benchmark's fields
// (dataset, model, task, metrics, language) plus what goclip adds — the
// template setting, how many samples were seen, whether the run finished,
// and the raw counts that let an interrupted run resume.
type Results struct {
	Dataset   string        `json:"dataset"`
	Model     string        `json:"model"`
	Task      string        `json:"task"` // "zeroshot_classification"
	Language  string        `json:"language"`
	Templates string        `json:"templates"` // "openai", "names" or a file name
	Metrics   ResultMetrics `json:"metrics"`
	Samples   int           `json:"samples"`
	Complete  bool          `json:"complete"`
	Counts    *Counts       `json:"counts"`
	// Probabilities is how the model turns logits into probabilities:
	// "softmax" over the classes (CLIP) or "sigmoid" per class (SigLIP),
	// the latter with its LogitBias. The metrics rank the classes and do
	// not depend on it. Empty in results written without it.
	Probabilities string   `json:"probabilities,omitempty"`
	LogitBias     *float32 `json:"logit_bias,omitempty"`
}

// ResultMetrics are the CLIP_benchmark metric names.
type ResultMetrics struct {
	Acc1               float64 `json:"acc1"`
	Acc5               float64 `json:"acc5"`
	MeanPerClassRecall float64 `json:"mean_per_class_recall"`
}

// Counts is the resumable state of a Metrics accumulator.
type Counts struct {
	Top1       int      `json:"top1"`
	Top5       int      `json:"top5"`
	Support    []int    `json:"support"`
	Correct    []int    `json:"correct"`
	Confusions [][3]int `json:"confusions"`    // [label, predicted, count]
	Bad        int      `json:"bad,omitempty"` // undecodable samples skipped (--skip-bad)
}

// Results summarises m.
func (m *Metrics) Results(dataset, model, templates string, complete bool) *Results {
	c := &Counts{Bad: m.Bad, Top1: m.Top1, Top5: m.Top5, Support: append([]int(nil), m.Support...), Correct: append([]int(nil), m.Correct...)}
	for _, cf := range m.TopConfusions(len(m.Confusions)) {
		c.Confusions = append(c.Confusions, [3]int{cf.Label, cf.Predicted, cf.Count})
	}
	return &Results{
		Dataset: dataset, Model: model, Task: "zeroshot_classification", Language: "en",
		Templates: templates,
		Metrics:   ResultMetrics{Acc1: m.Acc1(), Acc5: m.Acc5(), MeanPerClassRecall: m.MeanPerClassRecall()},
		Samples:   m.N, Complete: complete, Counts: c,
	}
}

// Restore rebuilds the accumulator a partial Results was written from.
func (r *Results) Restore() (*Metrics, error) {
	c := r.Counts
	if c == nil || len(c.Support) == 0 || len(c.Correct) != len(c.Support) {
		return nil, fmt.Errorf("evaluate: results have no resumable counts")
	}
	m, err := NewMetrics(len(c.Support))
	if err != nil {
		return nil, err
	}
	m.Top1, m.Top5 = c.Top1, c.Top5
	copy(m.Support, c.Support)
	copy(m.Correct, c.Correct)
	if c.Bad < 0 {
		return nil, fmt.Errorf("evaluate: results count %d bad samples", c.Bad)
	}
	m.Bad, m.N = c.Bad, c.Bad
	for _, s := range c.Support {
		m.N += s
	}
	if m.N != r.Samples {
		return nil, fmt.Errorf("evaluate: results count %d samples but support sums to %d", r.Samples, m.N)
	}
	for _, cf := range c.Confusions {
		if cf[0] < 0 || cf[0] >= m.NumClasses || cf[1] < 0 || cf[1] >= m.NumClasses {
			return nil, fmt.Errorf("evaluate: confusion %v outside %d classes", cf, m.NumClasses)
		}
		m.Confusions[[2]int{cf[0], cf[1]}] += cf[2]
	}
	return m, nil
}

// WriteFile writes r as indented JSON, atomically (temporary file + rename),
// so an interrupted write never leaves a truncated results file.
func (r *Results) WriteFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	// A unique temporary name: two runs writing one path never collide.
	return atomicfile.WriteFile(path, append(b, '\n'))
}

// ReadResults reads a results file written by WriteFile.
func ReadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("evaluate: %s: %w", path, err)
	}
	return &r, nil
}

// WriteClassCSV writes per-class support, correct count and recall.
func (m *Metrics) WriteClassCSV(w io.Writer, classNames []string) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"class", "name", "support", "correct", "recall"})
	for c := 0; c < m.NumClasses; c++ {
		cw.Write([]string{strconv.Itoa(c), name(classNames, c), strconv.Itoa(m.Support[c]),
			strconv.Itoa(m.Correct[c]), strconv.FormatFloat(m.ClassRecall(c), 'f', 4, 64)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteConfusionCSV writes the k most frequent (true, predicted) mistakes.
func (m *Metrics) WriteConfusionCSV(w io.Writer, classNames []string, k int) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"label", "label_name", "predicted", "predicted_name", "count"})
	for _, cf := range m.TopConfusions(k) {
		cw.Write([]string{strconv.Itoa(cf.Label), name(classNames, cf.Label),
			strconv.Itoa(cf.Predicted), name(classNames, cf.Predicted), strconv.Itoa(cf.Count)})
	}
	cw.Flush()
	return cw.Error()
}

func name(names []string, c int) string {
	if c < len(names) {
		return names[c]
	}
	return ""
}
