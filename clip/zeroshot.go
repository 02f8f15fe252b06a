package clip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/goclip/goclip/internal/safetensors"
)

// TextEmbedder is the text side a zero-shot classifier needs: projected
// text embeddings (normalised or not) and CLIP's logit scale. *Model
// satisfies it.
type TextEmbedder interface {
	EmbedTexts(ctx context.Context, texts []string) ([][]float32, error)
	LogitScale() float32
}

// ClassifierOptions tune NewClassifier; nil means defaults.
type ClassifierOptions struct {
	// Templates are prompt templates with "{}" for the class name, e.g.
	// ImageNetTemplates(). Empty means the class name alone is the prompt.
	Templates []string
	// BatchSize is the number of texts per EmbedTexts call (default 256).
	BatchSize int
	// Progress, if set, is called after every batch with the number of
	// texts embedded so far and the total.
	Progress func(done, total int)
	// Model is a free-text description of the text encoder (a Hub id or
	// folder), stored with the classifier so a saved file says what made it.
	Model string
}

// Classifier is a zero-shot classifier: one unit-norm text embedding per
// class. It is computed once by NewClassifier, can be saved and loaded,
// and is read-only afterwards (safe for concurrent use).
type Classifier struct {
	Classes   []string    // class names, in index order
	Templates []string    // templates used; empty: class names alone
	Weights   [][]float32 // [len(Classes)][EmbedDim], each row unit L2 norm
	Scale     float32     // logit scale, exp(logit_scale) of the model
	Model     string      // description of the text encoder, may be empty
	// Bias is the model's logit_bias (SigLIP; 0 for CLIP), added to
	// every logit.
	Bias float32
	// Sigmoid: probabilities are the sigmoid of each logit on its own
	// (SigLIP: each class independently, they need not sum to 1), not
	// the softmax over all classes (CLIP).
	Sigmoid bool
}

// Prediction is one class of a top-k answer.
type Prediction struct {
	Index int     `json:"index"` // class index
	Class string  `json:"class"` // class name
	Score float32 `json:"score"` // cosine similarity of image and class embedding
	Logit float32 `json:"logit"` // Scale × Score + Bias
	Prob  float32 `json:"prob"`  // softmax of the logits over all classes, or sigmoid(Logit) for a Sigmoid classifier
}

// NewClassifier embeds every class with every template and averages them
// as CLIP does (OpenAI's notebook, open_clip's build_zero_shot_classifier):
// each prompt embedding is L2-normalised, the class's prompts are averaged,
// and the mean is normalised again. With no templates each class is
// embedded by its name alone. Texts are sent in batches of
// opts.BatchSize; ctx is checked between batches.
func NewClassifier(ctx context.Context, emb TextEmbedder, classes []string, opts *ClassifierOptions) (*Classifier, error) {
	var o ClassifierOptions
	if opts != nil {
		o = *opts
	}
	if err := checkClassifierInput(emb, classes, o.Templates); err != nil {
		return nil, err
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	e := &ensemble{classes: classes, templates: o.Templates, perClass: max(len(o.Templates), 1), dim: -1}
	e.sums = make([][]float64, len(classes))
	total := len(classes) * e.perClass
	texts := make([]string, 0, o.BatchSize)
	for start := 0; start < total; start += o.BatchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(start+o.BatchSize, total)
		texts = texts[:0]
		for k := start; k < end; k++ {
			texts = append(texts, e.prompt(k))
		}
		out, err := emb.EmbedTexts(ctx, texts)
		if err != nil {
			return nil, fmt.Errorf("clip: embedding class prompts %d..%d: %w", start, end-1, err)
		}
		if err := e.add(start, texts, out); err != nil {
			return nil, err
		}
		if o.Progress != nil {
			o.Progress(end, total)
		}
	}
	w, err := e.weights()
	if err != nil {
		return nil, err
	}
	c := &Classifier{
		Classes:   append([]string(nil), classes...),
		Templates: append([]string(nil), o.Templates...),
		Weights:   w,
		Scale:     emb.LogitScale(),
		Model:     o.Model,
	}
	if sb, ok := emb.(sigmoidModel); ok && sb.SigmoidProbs() {
		c.Bias, c.Sigmoid = sb.LogitBias(), true
	}
	return c, nil
}

func checkClassifierInput(emb TextEmbedder, classes, templates []string) error {
	if emb == nil {
		return errors.New("clip: NewClassifier: nil text embedder")
	}
	if len(classes) == 0 {
		return errors.New("clip: NewClassifier: no classes")
	}
	for i, c := range classes {
		if c == "" {
			return fmt.Errorf("clip: NewClassifier: class %d has an empty name", i)
		}
	}
	for i, t := range templates {
		if !strings.Contains(t, TemplatePlaceholder) {
			return fmt.Errorf("clip: NewClassifier: template %d %q has no %q placeholder", i, t, TemplatePlaceholder)
		}
	}
	return nil
}

// ensemble accumulates the normalised prompt embeddings of each class.
type ensemble struct {
	classes, templates []string
	perClass, dim      int
	sums               [][]float64 // per class, the sum of its unit prompt embeddings
}

// prompt is the k-th text, in class-major order.
func (e *ensemble) prompt(k int) string {
	c := e.classes[k/e.perClass]
	if len(e.templates) == 0 {
		return c
	}
	return ApplyTemplate(e.templates[k%e.perClass], c)
}

// add accumulates the embeddings out of texts, prompts start, start+1, ….
func (e *ensemble) add(start int, texts []string, out [][]float32) error {
	if len(out) != len(texts) {
		return fmt.Errorf("clip: text embedder returned %d embeddings for %d texts", len(out), len(texts))
	}
	for j, v := range out {
		if e.dim < 0 {
			if len(v) == 0 {
				return errors.New("clip: text embedder returned an empty embedding")
			}
			e.dim = len(v)
		}
		if len(v) != e.dim {
			return fmt.Errorf("clip: text embedding %d has length %d, want %d", start+j, len(v), e.dim)
		}
		n := norm64(v)
		if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
			return fmt.Errorf("clip: prompt %q has a zero or non-finite embedding", texts[j])
		}
		c := (start + j) / e.perClass
		if e.sums[c] == nil {
			e.sums[c] = make([]float64, e.dim)
		}
		for i, x := range v {
			e.sums[c][i] += float64(x) / n
		}
	}
	return nil
}

// weights normalises each class's mean prompt embedding.
func (e *ensemble) weights() ([][]float32, error) {
	w := make([][]float32, len(e.classes))
	for c, s := range e.sums {
		var n float64
		for _, x := range s {
			n += x * x
		}
		n = math.Sqrt(n)
		if n == 0 {
			return nil, fmt.Errorf("clip: class %q: its prompt embeddings average to zero", e.classes[c])
		}
		w[c] = make([]float32, e.dim)
		for i, x := range s {
			w[c][i] = float32(x / n)
		}
	}
	return w, nil
}

// Dim is the embedding dimension of the class embeddings.
func (c *Classifier) Dim() int {
	if len(c.Weights) == 0 {
		return 0
	}
	return len(c.Weights[0])
}

// Scores returns the cosine similarities [len(images)][len(Classes)] of the
// image embeddings (normalised here; the input is not modified) and the
// class embeddings.
func (c *Classifier) Scores(images [][]float32) ([][]float32, error) {
	d := c.Dim()
	if d == 0 {
		return nil, errors.New("clip: classifier has no classes")
	}
	for k, w := range c.Weights { // the fields are exported: check, don't index out of range
		if len(w) != d {
			return nil, fmt.Errorf("clip: classifier: class embedding %d has length %d, class 0 has %d", k, len(w), d)
		}
	}
	out := make([][]float32, len(images))
	for i, v := range images {
		if len(v) != d {
			return nil, fmt.Errorf("clip: image embedding %d has length %d, classifier expects %d", i, len(v), d)
		}
		n := norm64(v)
		if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, fmt.Errorf("clip: image embedding %d is zero or non-finite", i)
		}
		row := make([]float32, len(c.Weights))
		for k, w := range c.Weights {
			var s float64
			for j, x := range v {
				s += float64(x) * float64(w[j])
			}
			row[k] = float32(s / n)
		}
		out[i] = row
	}
	return out, nil
}

// Classify returns the k best classes of every image embedding, best first,
// with probabilities from the softmax over all classes of the logits
// (Scale × cosine), as CLIP's logits_per_image.softmax(-1), or for a
// Sigmoid classifier (SigLIP) sigmoid(Scale × cosine + Bias) per class. k <= 0 or
// k > len(Classes) means all classes.
func (c *Classifier) Classify(images [][]float32, k int) ([][]Prediction, error) {
	scores, err := c.Scores(images)
	if err != nil {
		return nil, err
	}
	out := make([][]Prediction, len(scores))
	for i, s := range scores {
		if c.Sigmoid {
			out[i] = TopKSigmoid(s, c.Scale, c.Bias, c.Classes, k)
		} else {
			out[i] = TopK(s, c.Scale, c.Classes, k)
		}
	}
	return out, nil
}

// TopK ranks cosine scores: logits are scale×score, probabilities the
// softmax of all logits (computed in float64), and the k best are returned
// best first (ties: lower index first). names may be nil.
func TopK(scores []float32, scale float32, names []string, k int) []Prediction {
	maxL := math.Inf(-1)
	for _, s := range scores {
		maxL = math.Max(maxL, float64(scale)*float64(s))
	}
	var z float64
	for _, s := range scores {
		z += math.Exp(float64(scale)*float64(s) - maxL)
	}
	return topK(scores, names, k, func(s float32) (float32, float32) {
		l := float64(scale) * float64(s)
		return float32(l), float32(math.Exp(l-maxL) / z)
	})
}

// topK returns the k best scores (k <= 0 or more than all: all), best
// first, ties lower index first, with the logit and probability prob
// gives each.
func topK(scores []float32, names []string, k int, prob func(score float32) (logit, p float32)) []Prediction {
	if k <= 0 || k > len(scores) {
		k = len(scores)
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	out := make([]Prediction, k)
	for r := range out {
		i := idx[r]
		p := Prediction{Index: i, Score: scores[i]}
		p.Logit, p.Prob = prob(scores[i])
		if i < len(names) {
			p.Class = names[i]
		}
		out[r] = p
	}
	return out
}

// ---- file format ----------------------------------------------------------

// classifierFormat is the "format" metadata value of a saved classifier.
const classifierFormat = "goclip-zeroshot-classifier/1"

// ClassifierFileError reports a file that is not a valid saved classifier.
type ClassifierFileError struct {
	Path string
	Msg  string
}

func (e *ClassifierFileError) Error() string {
	return "clip: classifier file " + e.Path + ": " + e.Msg
}

// Save writes the classifier as a safetensors file: one F32 tensor
// "class_embeddings" [classes, dim] and string metadata "format"
// ("goclip-zeroshot-classifier/1"), "classes" and "templates" (JSON arrays
// of strings), "logit_scale" (decimal) and "model". Python reads it with
// safetensors.safe_open(path, "np").
func (c *Classifier) Save(path string) error {
	ts, md, err := c.tensors()
	if err != nil {
		return err
	}
	return safetensors.Save(path, ts, md)
}

// Write writes the classifier in the format of Save.
func (c *Classifier) Write(w io.Writer) error {
	ts, md, err := c.tensors()
	if err != nil {
		return err
	}
	b, err := safetensors.Encode(ts, md)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func (c *Classifier) tensors() ([]safetensors.NamedTensor, map[string]string, error) {
	d := c.Dim()
	if d == 0 || len(c.Weights) != len(c.Classes) {
		return nil, nil, fmt.Errorf("clip: classifier has %d classes and %d embeddings", len(c.Classes), len(c.Weights))
	}
	for i, row := range c.Weights {
		if len(row) != d {
			return nil, nil, fmt.Errorf("clip: class embedding %d has length %d, want %d", i, len(row), d)
		}
	}
	classes, _ := json.Marshal(c.Classes)
	templates, _ := json.Marshal(nonNil(c.Templates))
	md := map[string]string{
		"format":      classifierFormat,
		"classes":     string(classes),
		"templates":   string(templates),
		"logit_scale": strconv.FormatFloat(float64(c.Scale), 'g', -1, 32),
		"model":       c.Model,
	}
	probMeta(c, md)
	return []safetensors.NamedTensor{{Name: "class_embeddings", Shape: []int{len(c.Weights), d}, Data: safetensors.Rows(c.Weights)}}, md, nil
}

// LoadClassifier reads a file written by Save.
func LoadClassifier(path string) (*Classifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, msg := parseClassifier(b)
	if msg != "" {
		return nil, &ClassifierFileError{Path: path, Msg: msg}
	}
	return c, nil
}

func parseClassifier(b []byte) (*Classifier, string) {
	w, err := safetensors.Parse("classifier", b)
	if err != nil {
		return nil, err.Error()
	}
	meta := w.Metadata()
	if meta["format"] != classifierFormat {
		return nil, fmt.Sprintf("format %q, want %q", meta["format"], classifierFormat)
	}
	shape, dtype, ok := w.Shape("class_embeddings")
	if !ok {
		return nil, "no class_embeddings tensor"
	}
	if dtype != "F32" || len(shape) != 2 || shape[0] <= 0 || shape[1] <= 0 {
		return nil, fmt.Sprintf("class_embeddings: dtype %s shape %v, want F32 [classes, dim]", dtype, shape)
	}
	nc, d := shape[0], shape[1]
	data, err := w.Tensor("class_embeddings", nc, d)
	if err != nil {
		return nil, err.Error()
	}
	c := &Classifier{Model: meta["model"]}
	if err := json.Unmarshal([]byte(meta["classes"]), &c.Classes); err != nil {
		return nil, "metadata classes: " + err.Error()
	}
	if len(c.Classes) != nc {
		return nil, fmt.Sprintf("%d class names for %d embeddings", len(c.Classes), nc)
	}
	if t := meta["templates"]; t != "" {
		if err := json.Unmarshal([]byte(t), &c.Templates); err != nil {
			return nil, "metadata templates: " + err.Error()
		}
	}
	s, err := strconv.ParseFloat(meta["logit_scale"], 32)
	if err != nil || s <= 0 || math.IsInf(s, 0) {
		return nil, fmt.Sprintf("metadata logit_scale %q is not a positive number", meta["logit_scale"])
	}
	c.Scale = float32(s)
	if msg := parseProbMeta(c, meta); msg != "" {
		return nil, msg
	}
	c.Weights = make([][]float32, nc)
	for i := range c.Weights {
		row := make([]float32, d)
		copy(row, data[i*d:(i+1)*d])
		for _, x := range row {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Sprintf("class embedding %d has a non-finite value", i)
			}
		}
		c.Weights[i] = row
	}
	return c, ""
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
