package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/heatmap"
	"github.com/goclip/goclip/imageproc"
)

const similarityHelp = `usage: clip similarity [--model M] (--texts FILE | --text T ...) [--heatmap OUT] [--json] IMAGE...
       clip similarity [--model M] --dataset D [--sample 10] [--seed 1] [--template "a photo of a {}."] [--heatmap OUT]

Embeds the images and the texts, L2-normalises both and prints the cosine
similarity matrix (images × texts) the way numpy prints an array (a matrix
of more than 1,000 cells is summarised as numpy does; --json has every
value), then the best text for every image with its softmax probability
over the texts (CLIP's zero-shot rule; a SigLIP model: the sigmoid of
its logit, exp(logit_scale)·cosine + logit_bias). With --dataset the images are a
random sample of the dataset and the texts their class names.

arguments:
  IMAGE...   image files (JPEG, PNG, GIF, BMP, TIFF, WebP)

--texts FILE has one text per line; a .jsonl file has one JSON string per
line. --heatmap writes the format its extension names: .png, .svg, or
.jpg/.jpeg.`

// simArgs are the flags and arguments of `clip similarity`.
type simArgs struct {
	precision                       clip.Precision // --precision
	model, ds, template, out, title string
	images, texts                   []string
	sample                          int
	seed                            uint64
	asJSON                          bool
}

// simInput is what the similarity command compares. Images are decoded
// by computeSimilarity a batch at a time, never all at once.
type simInput struct {
	imageLabels []string                         // one per image: file name or dataset key + class
	decode      func(i int) (image.Image, error) // decodes image i (called once per image)
	texts       []string
}

// simResult is the computed comparison.
type simResult struct {
	imgEmb, txtEmb [][]float32
	sim            [][]float32
	best           []clip.Prediction
	thumbs         []image.Image // the heatmap's thumbnails, when one is drawn
	tImg, tTxt     time.Duration
}

// simBatch is how many decoded images similarity holds at once: each batch
// is embedded and shrunk to the heatmap's thumbnails before the next is
// decoded, so memory per image is its embedding and a thumbnail (at most
// 68×68 px, 136×136 in an SVG) rather than the decoded image.
const simBatch = 16

// runSimilarity implements `clip similarity`.
func runSimilarity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, err := parseSimilarity(args, stdout)
	if err != nil {
		return err
	}
	t0 := time.Now()
	m, err := loadModel(ctx, a.model, a.precision, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	var in *simInput
	if a.ds != "" {
		in, err = datasetInput(ctx, a, stderr)
	} else {
		in, err = fileInput(a)
	}
	if err != nil {
		return err
	}
	tLoad := time.Since(t0)
	res, err := computeSimilarity(ctx, m, in, thumbSide(a.out, len(in.imageLabels), len(in.texts)))
	if err != nil {
		return err
	}
	if a.out != "" {
		if err := writeHeatmap(a.out, res.sim, a.title, in.imageLabels, in.texts, res.thumbs); err != nil {
			return err
		}
	}
	if a.asJSON {
		return printSimilarityJSON(stdout, a, m, in, res)
	}
	printSimilarity(stdout, a, m, in, res)
	fmt.Fprintf(stderr, "time: load %v, %d images %v, %d texts %v\n",
		tLoad.Round(time.Millisecond), len(res.imgEmb), res.tImg.Round(time.Millisecond), len(res.txtEmb), res.tTxt.Round(time.Millisecond))
	return nil
}

// parseSimilarity parses and checks the command line, the --texts file
// and the --heatmap extension included: nothing is computed for a command
// line that would fail at the end.
func parseSimilarity(args []string, stdout io.Writer) (*simArgs, error) {
	a := &simArgs{}
	fs := newCmdFlags("similarity", similarityHelp)
	fs.StringVar(&a.model, "model", defaultModel, "model folder or Hugging Face Hub id")
	precisionVar(fs.FlagSet, &a.precision)
	textsFile := fs.String("texts", "", "file of texts, one per line (.jsonl: one JSON string per line)")
	var texts stringList
	fs.Var(&texts, "text", "a text to compare (repeatable)")
	fs.StringVar(&a.ds, "dataset", "", "WebDataset folder or Hub id: compare a sample of its images with their class names")
	fs.IntVar(&a.sample, "sample", 10, "with --dataset: number of images to sample")
	fs.Uint64Var(&a.seed, "seed", 1, "with --dataset: sampling seed")
	fs.StringVar(&a.template, "template", "", `with --dataset: prompt template for the class names, e.g. "a photo of a {}." (default: the names alone)`)
	fs.StringVar(&a.out, "heatmap", "", "write the heatmap to this file (.png, .svg, .jpg or .jpeg)")
	fs.StringVar(&a.title, "title", "Cosine similarity of image and text embeddings", "heatmap title")
	fs.BoolVar(&a.asJSON, "json", false, "print JSON instead of text")
	var err error
	if a.images, err = fs.parse(args, stdout); err != nil {
		return nil, err
	}
	if *textsFile != "" {
		if a.texts, err = readList(*textsFile); err != nil {
			return nil, err
		}
	}
	a.texts = append(a.texts, texts...)
	switch {
	case a.ds == "" && len(a.images) == 0:
		return nil, fs.usage("no images given")
	case a.ds == "" && len(a.texts) == 0:
		return nil, fs.usage("no texts given (--text or --texts)")
	case a.ds != "" && (len(a.images) > 0 || len(a.texts) > 0):
		return nil, fs.usage("--dataset takes its images and texts from the dataset; do not also give images or texts")
	case a.ds != "" && a.sample <= 0:
		return nil, fs.usage("--sample must be positive")
	case a.sample > maxSimilaritySample:
		return nil, fs.usage("--sample is at most %d: similarity holds every sampled image (encoded) and prints an n×n matrix (clip eval scores a whole dataset)", maxSimilaritySample)
	case a.template != "" && !strings.Contains(a.template, clip.TemplatePlaceholder):
		return nil, fs.usage("--template has no {} placeholder")
	}
	if a.out != "" {
		if _, err := heatmapFormat(a.out); err != nil {
			return nil, fs.usage("%v", err)
		}
	}
	return a, nil
}

// fileInput takes the image files and the texts. The files are decoded
// once, by computeSimilarity.
func fileInput(a *simArgs) (*simInput, error) {
	in := &simInput{texts: a.texts}
	for _, p := range a.images {
		in.imageLabels = append(in.imageLabels, filepath.Base(p))
	}
	in.decode = func(i int) (image.Image, error) { return imageproc.DecodeFile(a.images[i], nil) }
	return in, nil
}

// maxSimilaritySample bounds `similarity --dataset --sample N`: the
// sample's encoded images are held until decoded and the matrix is n×n
// (a heatmap of more than about 700 rows exceeds its pixel limit anyway).
const maxSimilaritySample = 1000

// datasetInput samples images of a dataset (a WebDataset, an image folder
// or a Hub dataset id) with their class names as the texts. A --sample
// larger than the dataset takes every image, said on stderr.
func datasetInput(ctx context.Context, a *simArgs, stderr io.Writer) (*simInput, error) {
	d, err := openDataset(ctx, a.ds, "", stderr)
	if err != nil {
		return nil, err
	}
	if len(d.Classnames) == 0 {
		return nil, fmt.Errorf("dataset %s has no class names", a.ds)
	}
	samples, err := d.RandomSample(ctx, a.sample, a.seed)
	if err != nil {
		return nil, err
	}
	if len(samples) < a.sample {
		fmt.Fprintf(stderr, "similarity: --sample %d, but %s has %d images: using all of them\n", a.sample, a.ds, len(samples))
	}
	in := &simInput{}
	for _, s := range samples {
		if s.Label < 0 || s.Label >= len(d.Classnames) {
			return nil, fmt.Errorf("dataset %s: sample %s has label %d, outside its %d classes", a.ds, s.Key, s.Label, len(d.Classnames))
		}
		class := d.Classnames[s.Label]
		text := class
		if a.template != "" {
			text = clip.ApplyTemplate(a.template, class)
		}
		in.imageLabels = append(in.imageLabels, s.Key+" · "+class)
		in.texts = append(in.texts, text)
	}
	in.decode = func(i int) (image.Image, error) {
		s := &samples[i]
		img, err := imageproc.Decode(bytes.NewReader(s.Image), &imageproc.DecodeOptions{Name: s.Key})
		s.Image = nil // the encoded bytes are not needed again
		return img, err
	}
	return in, nil
}

// thumbSide is the side of the heatmap's thumbnails for a figure of rows ×
// cols cells written to out (twice the drawn side in an SVG); 0 when no
// heatmap is written.
func thumbSide(out string, rows, cols int) int {
	if out == "" {
		return 0
	}
	side := heatmap.ThumbnailSide(rows, cols, nil)
	if f, _ := heatmapFormat(out); f == "svg" {
		side *= 2
	}
	return side
}

// computeSimilarity embeds the input, normalises, and takes the cosine
// similarity and every image's best text. Each image is decoded once, a
// batch at a time: the batch is embedded and, when side > 0, shrunk to
// thumbnails of that side (heatmap.Thumbnail) before the next is decoded.
func computeSimilarity(ctx context.Context, m *clip.Model, in *simInput, side int) (*simResult, error) {
	r := &simResult{}
	t1 := time.Now()
	n := len(in.imageLabels)
	for i := 0; i < n; i += simBatch {
		batch := make([]image.Image, min(simBatch, n-i))
		for j := range batch {
			img, err := in.decode(i + j)
			if err != nil {
				return nil, err
			}
			batch[j] = img
		}
		emb, err := m.EmbedImages(ctx, batch)
		if err != nil {
			return nil, batchError(ctx, m, batch, in.imageLabels[i:], err)
		}
		r.imgEmb = append(r.imgEmb, emb...)
		for _, img := range batch {
			if t := heatmap.Thumbnail(img, side); t != nil {
				r.thumbs = append(r.thumbs, t)
			} else if side > 0 {
				r.thumbs = append(r.thumbs, nil)
			}
		}
	}
	r.tImg = time.Since(t1)
	t2 := time.Now()
	var err error
	if r.txtEmb, err = m.EmbedTexts(ctx, in.texts); err != nil {
		return nil, err
	}
	r.tTxt = time.Since(t2)
	if r.sim, err = clip.Similarity(r.imgEmb, r.txtEmb); err != nil {
		return nil, err
	}
	r.best = make([]clip.Prediction, len(r.sim))
	for i, row := range r.sim {
		if m.SigmoidProbs() {
			r.best[i] = clip.TopKSigmoid(row, m.LogitScale(), m.LogitBias(), in.texts, 1)[0]
		} else {
			r.best[i] = clip.TopK(row, m.LogitScale(), in.texts, 1)[0]
		}
	}
	return r, nil
}

// batchError names the image of a batch that EmbedImages refused (its
// error counts from the batch's start): each image is embedded alone until
// one fails.
func batchError(ctx context.Context, m *clip.Model, batch []image.Image, labels []string, err error) error {
	if ctx.Err() != nil {
		return err
	}
	for j, img := range batch {
		if _, e := m.EmbedImages(ctx, []image.Image{img}); e != nil {
			return fmt.Errorf("%s: %w", labels[j], e)
		}
	}
	return err
}

// printSimilarityJSON prints the result as one JSON object.
func printSimilarityJSON(w io.Writer, a *simArgs, m *clip.Model, in *simInput, r *simResult) error {
	type row struct {
		Image string  `json:"image"`
		Best  string  `json:"best_text"`
		Index int     `json:"best_index"`
		Prob  float32 `json:"prob"`
	}
	res := struct {
		Model      string      `json:"model"`
		Images     []string    `json:"images"`
		Texts      []string    `json:"texts"`
		ImageShape [2]int      `json:"image_embeds_shape"`
		TextShape  [2]int      `json:"text_embeds_shape"`
		Similarity [][]float32 `json:"similarity"`
		LogitScale float32     `json:"logit_scale"`
		LogitBias  float32     `json:"logit_bias"`
		Probs      string      `json:"probabilities"` // softmax over the texts (CLIP) or sigmoid per text (SigLIP)
		ZeroShot   []row       `json:"zero_shot"`
		Heatmap    string      `json:"heatmap,omitempty"`
	}{Model: a.model, Images: in.imageLabels, Texts: in.texts,
		ImageShape: [2]int{len(r.imgEmb), m.EmbedDim()}, TextShape: [2]int{len(r.txtEmb), m.EmbedDim()},
		Similarity: r.sim, LogitScale: m.LogitScale(), LogitBias: m.LogitBias(), Probs: "softmax", Heatmap: a.out}
	if m.SigmoidProbs() {
		res.Probs = "sigmoid"
	}
	for i, b := range r.best {
		res.ZeroShot = append(res.ZeroShot, row{in.imageLabels[i], b.Class, b.Index, b.Prob})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// printSimilarity prints the matrix numpy-style, the row and column
// labels and the zero-shot answers.
func printSimilarity(w io.Writer, a *simArgs, m *clip.Model, in *simInput, r *simResult) {
	fmt.Fprintf(w, "image embeddings: (%d, %d)  text embeddings: (%d, %d)\n", len(r.imgEmb), m.EmbedDim(), len(r.txtEmb), m.EmbedDim())
	fmt.Fprintln(w, "\ncosine similarity (rows: images, columns: texts):")
	fmt.Fprintln(w, formatMatrix(r.sim))
	fmt.Fprintln(w, "\nrows:")
	for i, l := range in.imageLabels {
		fmt.Fprintf(w, "  %2d  %s\n", i, l)
	}
	fmt.Fprintln(w, "columns:")
	for j, t := range in.texts {
		fmt.Fprintf(w, "  %2d  %s\n", j, t)
	}
	if m.SigmoidProbs() {
		fmt.Fprintf(w, "\nzero-shot (sigmoid of %.4g × cosine %+.4g, each text on its own):\n", m.LogitScale(), m.LogitBias())
	} else {
		fmt.Fprintf(w, "\nzero-shot (softmax of %.4g × cosine over the %d texts):\n", m.LogitScale(), len(in.texts))
	}
	width := 0
	for _, l := range in.imageLabels {
		width = max(width, len([]rune(l)))
	}
	for i, b := range r.best {
		fmt.Fprintf(w, "  %-*s → %s (%.1f%%)\n", width, in.imageLabels[i], b.Class, 100*b.Prob)
	}
	if a.out != "" {
		fmt.Fprintf(w, "\nheatmap written to %s\n", a.out)
	}
}
