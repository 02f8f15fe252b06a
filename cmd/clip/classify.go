package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/goclip/goclip/clip"
)

const classifyHelp = `usage: clip classify [--model M] [--classes FILE|imagenet] [--templates openai|simple|names|FILE] [--top 5] [--json] IMAGE...

Zero-shot classification: every class is embedded with every prompt
template (embeddings normalised, averaged, renormalised — CLIP's
ensembling), and each image gets its top classes with softmax
probabilities of the logits (a SigLIP model: the sigmoid of each logit,
exp(logit_scale)·cosine + logit_bias, per class). Building the ImageNet classifier with the 80
OpenAI templates embeds 80,000 texts (minutes on a laptop; progress with
rate and ETA on stderr). The classifier is then cached in the user cache
folder (goclip/classifiers, keyed by the model's folder and weights, the
classes and the templates), so the next run with the same model, classes
and templates starts at once; --no-cache skips the cache. --save-classifier
keeps a copy and --classifier reuses one.

arguments:
  IMAGE...   image files (JPEG, PNG, GIF, BMP, TIFF, WebP)

Class and template files have one entry per line; a .jsonl file has one
JSON string per line.`

// classifyArgs are the flags and arguments of `clip classify`.
type classifyArgs struct {
	precision                             clip.Precision // --precision
	model, classes, templates, load, save string
	images                                []string
	top, batch                            int
	asJSON, noCache                       bool
}

// runClassify implements `clip classify`.
func runClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, err := parseClassify(args, stdout)
	if err != nil {
		return err
	}
	dir, err := resolveModel(ctx, a.model, stderr)
	if err != nil {
		return err
	}
	m, err := openModel(dir, a.precision, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	// Images first: a bad image file fails before minutes of prompt embedding.
	t1 := time.Now()
	imgEmb, err := m.EmbedFiles(ctx, a.images, nil)
	if err != nil {
		return err
	}
	tImg := time.Since(t1)
	t0 := time.Now()
	c, err := classifier(ctx, m, dir, a, stderr)
	if err != nil {
		return err
	}
	tClasses := time.Since(t0)
	if a.save != "" {
		if err := writeFileAtomic(a.save, c.Write); err != nil {
			return err
		}
	}
	preds, err := c.Classify(imgEmb, a.top)
	if err != nil {
		return err
	}
	if err := printClassify(stdout, a, preds, c.ProbabilityKind()); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "time: %d classes × %d prompts %v, %d images %v\n",
		len(c.Classes), max(1, len(c.Templates)), tClasses.Round(time.Millisecond), len(a.images), tImg.Round(time.Millisecond))
	return nil
}

// parseClassify parses the command line.
func parseClassify(args []string, stdout io.Writer) (*classifyArgs, error) {
	a := &classifyArgs{}
	fs := newCmdFlags("classify", classifyHelp)
	fs.StringVar(&a.model, "model", defaultModel, "model folder or Hugging Face Hub id")
	precisionVar(fs.FlagSet, &a.precision)
	fs.StringVar(&a.classes, "classes", "imagenet", `class names: "imagenet" (built in) or a file with one name per line`)
	fs.StringVar(&a.templates, "templates", "openai", `prompt templates: "openai" (the 80 ImageNet templates), "simple" (7), "names" (class names alone) or a file with one "{}" template per line`)
	fs.IntVar(&a.top, "top", 5, "number of classes to print per image")
	fs.StringVar(&a.load, "classifier", "", "use a classifier saved with --save-classifier instead of embedding the class prompts")
	fs.StringVar(&a.save, "save-classifier", "", "save the class embeddings to this safetensors file")
	fs.IntVar(&a.batch, "batch", 256, "texts per text-encoder batch")
	fs.BoolVar(&a.noCache, "no-cache", false, "neither read nor write the classifier cache")
	fs.BoolVar(&a.asJSON, "json", false, "print JSON instead of text")
	var err error
	if a.images, err = fs.parse(args, stdout); err != nil {
		return nil, err
	}
	switch {
	case len(a.images) == 0:
		return nil, fs.usage("no images given")
	case a.top <= 0:
		return nil, fs.usage("--top must be positive")
	case a.batch <= 0:
		return nil, fs.usage("--batch must be positive")
	}
	return a, nil
}

// classifier returns the zero-shot classifier: --classifier, else the
// cached one, else one built from the class prompts (and cached).
func classifier(ctx context.Context, m *clip.Model, dir string, a *classifyArgs, stderr io.Writer) (*clip.Classifier, error) {
	if a.load != "" {
		c, err := clip.LoadClassifier(a.load)
		if err != nil {
			return nil, err
		}
		if c.Dim() != m.EmbedDim() {
			return nil, fmt.Errorf("classifier %s has %d-dimensional class embeddings, the model %d", a.load, c.Dim(), m.EmbedDim())
		}
		return c, nil
	}
	names, tmpl, err := classesAndTemplates(a.classes, a.templates)
	if err != nil {
		return nil, err
	}
	return classifierFor(ctx, m, dir, names, tmpl, a.batch, a.model, "embedding class prompts", !a.noCache, stderr)
}

// buildClassifier embeds the class prompts, showing progress on stderr.
func buildClassifier(ctx context.Context, m *clip.Model, names, tmpl []string, batch int, model, label string, stderr io.Writer) (*clip.Classifier, error) {
	var p *progress
	start := time.Now() // the rate counts the first batch too
	return clip.NewClassifier(ctx, m, names, &clip.ClassifierOptions{
		Templates: tmpl, BatchSize: batch, Model: model,
		Progress: func(done, total int) {
			if total <= batch {
				return // one batch: nothing to watch
			}
			if p == nil {
				p = newProgress(stderr, label, "texts", total)
				p.start = start
			}
			p.update(done)
		},
	})
}

// printClassify prints every image's top classes, as text or JSON.
func printClassify(w io.Writer, a *classifyArgs, preds [][]clip.Prediction, probs string) error {
	if a.asJSON {
		type result struct {
			Image string            `json:"image"`
			Top   []clip.Prediction `json:"top"`
			Probs string            `json:"probabilities"` // softmax (CLIP) or sigmoid (SigLIP)
		}
		res := make([]result, len(a.images))
		for i, p := range a.images {
			res[i] = result{p, preds[i], probs}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	if probs == "sigmoid" {
		fmt.Fprintln(w, "probabilities: sigmoid of each class's logit (SigLIP; they need not sum to 100%)")
	}
	for i, p := range a.images {
		fmt.Fprintf(w, "%s\n", filepath.Base(p))
		for r, q := range preds[i] {
			fmt.Fprintf(w, "  %d. %-30s %6.2f%%  (cosine %.4f)\n", r+1, q.Class, 100*q.Prob, q.Score)
		}
	}
	return nil
}

// classesAndTemplates resolves the --classes and --templates flags.
func classesAndTemplates(classes, templates string) ([]string, []string, error) {
	var names []string
	var err error
	if classes == "imagenet" {
		names = clip.ImageNetClasses()
	} else if names, err = readList(classes); err != nil {
		return nil, nil, err
	}
	var tmpl []string
	switch templates {
	case "openai":
		tmpl = clip.ImageNetTemplates()
	case "simple":
		tmpl = clip.ImageNetSimpleTemplates()
	case "names", "none", "":
	default:
		if tmpl, err = readList(templates); err != nil {
			return nil, nil, err
		}
	}
	return names, tmpl, nil
}
