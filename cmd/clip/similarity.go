package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/dataset"
	"github.com/goclip/goclip/heatmap"
	"github.com/goclip/goclip/imageproc"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ", ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

const similarityUsage = `usage: clip similarity --model M [--texts FILE | --text T ...] [--heatmap out.png] [--json] IMAGE...
       clip similarity --model M --dataset D [--sample 10] [--seed 1] [--template "a photo of a {}."] [--heatmap out.png]

Embeds the images and the texts, L2-normalises both and prints the cosine
similarity matrix (images × texts) the way numpy prints an array, then the
best text for every image with its softmax probability over the texts
(CLIP's zero-shot rule). With --dataset the images are a random sample of
the dataset and the texts their class names.`

// simInput is what the similarity command compares.
type simInput struct {
	imageLabels []string      // one per image: file name or dataset key + class
	thumbs      []image.Image // decoded images (nil entries when undecodable)
	paths       []string      // image files, when the images are files
	pixels      []float32     // [n,3,S,S]
	texts       []string
}

// runSimilarity implements `clip similarity`.
func runSimilarity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("similarity", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, similarityUsage+"\n\nflags:"); fs.PrintDefaults() }
	model := fs.String("model", defaultModel, "model folder or Hugging Face Hub id")
	textsFile := fs.String("texts", "", "file of texts, one per line")
	var texts stringList
	fs.Var(&texts, "text", "a text to compare (repeatable)")
	ds := fs.String("dataset", "", "WebDataset folder or Hub id: compare a sample of its images with their class names")
	sample := fs.Int("sample", 10, "with --dataset: number of images to sample")
	seed := fs.Uint64("seed", 1, "with --dataset: sampling seed")
	template := fs.String("template", "", `with --dataset: prompt template for the class names, e.g. "a photo of a {}." (default: the names alone)`)
	out := fs.String("heatmap", "", "write the heatmap to this file (.png or .svg)")
	title := fs.String("title", "Cosine similarity of image and text embeddings", "heatmap title")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	images := fs.Args()
	if *textsFile != "" {
		t, err := clip.ReadList(*textsFile)
		if err != nil {
			return err
		}
		texts = append(texts, t...)
	}
	switch {
	case *ds == "" && len(images) == 0:
		return usageError(fs, "no images given")
	case *ds == "" && len(texts) == 0:
		return usageError(fs, "no texts given (--text or --texts)")
	case *ds != "" && (len(images) > 0 || len(texts) > 0):
		return usageError(fs, "--dataset takes its images and texts from the dataset; do not also give images or texts")
	case *ds != "" && *sample <= 0:
		return usageError(fs, "--sample must be positive")
	case *template != "" && !strings.Contains(*template, clip.TemplatePlaceholder):
		return usageError(fs, "--template has no {} placeholder")
	}

	t0 := time.Now()
	m, dir, err := loadModel(ctx, *model, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	var in *simInput
	if *ds != "" {
		in, err = datasetInput(ctx, dir, *ds, *sample, *seed, *template, stderr)
	} else {
		in, err = fileInput(ctx, dir, images, texts)
	}
	if err != nil {
		return err
	}
	if in.pixels == nil {
		if in.pixels, err = pixelsOf(ctx, dir, in); err != nil {
			return err
		}
	}
	tLoad := time.Since(t0)

	t1 := time.Now()
	imgEmb, err := m.EmbedPixels(ctx, in.pixels)
	if err != nil {
		return err
	}
	tImg := time.Since(t1)
	t2 := time.Now()
	txtEmb, err := m.EmbedTexts(ctx, in.texts)
	if err != nil {
		return err
	}
	tTxt := time.Since(t2)
	clip.Normalize(imgEmb)
	clip.Normalize(txtEmb)
	sim, err := clip.Similarity(imgEmb, txtEmb)
	if err != nil {
		return err
	}

	best := make([]clip.Prediction, len(sim))
	for i, row := range sim {
		best[i] = clip.TopK(row, m.LogitScale(), in.texts, 1)[0]
	}
	if *out != "" {
		in.thumbnails()
		err := heatmap.Save(*out, sim, &heatmap.Options{
			Title: *title, RowLabels: in.imageLabels, ColLabels: in.texts, Thumbnails: in.thumbs,
			RowAxis: "image", ColAxis: "text", OutlineRowMax: true,
		})
		if err != nil {
			return err
		}
	}
	if *asJSON {
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
			ZeroShot   []row       `json:"zero_shot"`
			Heatmap    string      `json:"heatmap,omitempty"`
		}{Model: *model, Images: in.imageLabels, Texts: in.texts,
			ImageShape: [2]int{len(imgEmb), m.EmbedDim()}, TextShape: [2]int{len(txtEmb), m.EmbedDim()},
			Similarity: sim, LogitScale: m.LogitScale(), Heatmap: *out}
		for i, b := range best {
			res.ZeroShot = append(res.ZeroShot, row{in.imageLabels[i], b.Class, b.Index, b.Prob})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "image embeddings: (%d, %d)  text embeddings: (%d, %d)\n", len(imgEmb), m.EmbedDim(), len(txtEmb), m.EmbedDim())
	fmt.Fprintln(stdout, "\ncosine similarity (rows: images, columns: texts):")
	fmt.Fprintln(stdout, clip.FormatMatrix(sim))
	fmt.Fprintln(stdout, "\nrows:")
	for i, l := range in.imageLabels {
		fmt.Fprintf(stdout, "  %2d  %s\n", i, l)
	}
	fmt.Fprintln(stdout, "columns:")
	for j, t := range in.texts {
		fmt.Fprintf(stdout, "  %2d  %s\n", j, t)
	}
	fmt.Fprintf(stdout, "\nzero-shot (softmax of %.4g × cosine over the %d texts):\n", m.LogitScale(), len(in.texts))
	w := 0
	for _, l := range in.imageLabels {
		w = max(w, len([]rune(l)))
	}
	for i, b := range best {
		fmt.Fprintf(stdout, "  %-*s → %s (%.1f%%)\n", w, in.imageLabels[i], b.Class, 100*b.Prob)
	}
	if *out != "" {
		fmt.Fprintf(stdout, "\nheatmap written to %s\n", *out)
	}
	fmt.Fprintf(stderr, "time: load %v, %d images %v, %d texts %v\n",
		tLoad.Round(time.Millisecond), len(imgEmb), tImg.Round(time.Millisecond), len(txtEmb), tTxt.Round(time.Millisecond))
	return nil
}

func usageError(fs *flag.FlagSet, msg string) error {
	fs.Usage()
	return errors.New(fs.Name() + ": " + msg)
}

// fileInput decodes the image files (for their thumbnails) and takes the texts.
func fileInput(ctx context.Context, dir string, images, texts []string) (*simInput, error) {
	in := &simInput{texts: texts}
	for _, p := range images {
		in.imageLabels = append(in.imageLabels, filepath.Base(p))
		in.paths = append(in.paths, p)
	}
	return in, nil
}

// thumbnails decodes the input's image files for the heatmap; an
// undecodable file gets no thumbnail (pixelsOf reports its error).
func (in *simInput) thumbnails() {
	if in.thumbs != nil {
		return
	}
	for _, p := range in.paths {
		im, err := imageproc.DecodeFile(p, nil)
		if err != nil {
			in.thumbs = append(in.thumbs, nil)
			continue
		}
		in.thumbs = append(in.thumbs, im)
	}
}

// pixelsOf preprocesses the input's image files with the model's
// CLIPImageProcessor configuration.
func pixelsOf(ctx context.Context, dir string, in *simInput) ([]float32, error) {
	proc, err := imageproc.LoadProcessor(dir)
	if err != nil {
		return nil, err
	}
	return proc.Files(ctx, in.paths)
}

// datasetInput samples n images of a dataset (a WebDataset, an image
// folder or a Hub dataset id) with their class names as the texts.
func datasetInput(ctx context.Context, dir, name string, n int, seed uint64, template string, stderr io.Writer) (*simInput, error) {
	d, err := dataset.Open(ctx, name, &dataset.Options{Hub: newHubClient(stderr)})
	if err != nil {
		return nil, err
	}
	if len(d.Classnames) == 0 {
		return nil, fmt.Errorf("dataset %s has no class names", name)
	}
	samples, err := d.RandomSample(ctx, n, seed)
	if err != nil {
		return nil, err
	}
	proc, err := imageproc.LoadProcessor(dir)
	if err != nil {
		return nil, err
	}
	in := &simInput{}
	for _, s := range samples {
		if s.Label < 0 || s.Label >= len(d.Classnames) {
			return nil, fmt.Errorf("dataset %s: sample %s has label %d, outside its %d classes", name, s.Key, s.Label, len(d.Classnames))
		}
		img, err := imageproc.Decode(bytes.NewReader(s.Image), &imageproc.DecodeOptions{Name: s.Key})
		if err != nil {
			return nil, err
		}
		px, err := proc.Image(img)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Key, err)
		}
		class := d.Classnames[s.Label]
		text := class
		if template != "" {
			text = clip.ApplyTemplate(template, class)
		}
		in.pixels = append(in.pixels, px...)
		in.thumbs = append(in.thumbs, img)
		in.imageLabels = append(in.imageLabels, s.Key+" · "+class)
		in.texts = append(in.texts, text)
	}
	return in, nil
}
