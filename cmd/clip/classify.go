package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/evaluate"
)

const classifyUsage = `usage: clip classify --model M [--classes FILE|imagenet] [--templates openai|simple|names|FILE] [--top 5] [--json] IMAGE...

Zero-shot classification: every class is embedded with every prompt
template (embeddings normalised, averaged, renormalised — CLIP's
ensembling), and each image gets its top classes with softmax
probabilities of the logits. Building the ImageNet classifier with the 80
OpenAI templates embeds 80,000 texts; --save-classifier keeps the result
and --classifier reuses it.`

// runClassify implements `clip classify`.
func runClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, classifyUsage+"\n\nflags:"); fs.PrintDefaults() }
	model := fs.String("model", defaultModel, "model folder or Hugging Face Hub id")
	classes := fs.String("classes", "imagenet", `class names: "imagenet" (built in) or a file with one name per line`)
	templates := fs.String("templates", "openai", `prompt templates: "openai" (the 80 ImageNet templates), "simple" (7), "names" (class names alone) or a file with one "{}" template per line`)
	top := fs.Int("top", 5, "number of classes to print per image")
	load := fs.String("classifier", "", "use a classifier saved with --save-classifier instead of embedding the class prompts")
	save := fs.String("save-classifier", "", "save the class embeddings to this safetensors file")
	batch := fs.Int("batch", 256, "texts per text-encoder batch")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	images := fs.Args()
	if len(images) == 0 {
		return usageError(fs, "no images given")
	}
	if *top <= 0 {
		return usageError(fs, "--top must be positive")
	}

	m, dir, err := loadModel(ctx, *model, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	// Images first: a bad image file fails before minutes of prompt embedding.
	in, err := fileInput(ctx, dir, images, nil)
	if err != nil {
		return err
	}
	pixels, err := pixelsOf(ctx, dir, in)
	if err != nil {
		return err
	}
	t0 := time.Now()
	var c *clip.Classifier
	if *load != "" {
		if c, err = clip.LoadClassifier(*load); err != nil {
			return err
		}
		if c.Dim() != m.EmbedDim() {
			return fmt.Errorf("classifier %s has %d-dimensional class embeddings, the model %d", *load, c.Dim(), m.EmbedDim())
		}
	} else {
		names, tmpl, err := classesAndTemplates(*classes, *templates)
		if err != nil {
			return err
		}
		last, tty := time.Now(), evaluate.IsTerminal(stderr)
		c, err = clip.NewClassifier(ctx, m, names, &clip.ClassifierOptions{
			Templates: tmpl, BatchSize: *batch, Model: *model,
			Progress: func(done, total int) {
				if total > *batch && (time.Since(last) > time.Second || done == total) {
					last = time.Now()
					if tty { // redraw in place; plain lines when stderr is a file or pipe
						fmt.Fprintf(stderr, "\rembedding class prompts: %d/%d", done, total)
						if done == total {
							fmt.Fprintln(stderr)
						}
					} else {
						fmt.Fprintf(stderr, "embedding class prompts: %d/%d\n", done, total)
					}
				}
			},
		})
		if err != nil {
			return err
		}
	}
	tClasses := time.Since(t0)
	if *save != "" {
		if err := c.Save(*save); err != nil {
			return err
		}
	}
	t1 := time.Now()
	emb, err := m.EmbedPixels(ctx, pixels)
	if err != nil {
		return err
	}
	preds, err := c.Classify(emb, *top)
	if err != nil {
		return err
	}
	tImg := time.Since(t1)

	if *asJSON {
		type result struct {
			Image string            `json:"image"`
			Top   []clip.Prediction `json:"top"`
		}
		res := make([]result, len(images))
		for i, p := range images {
			res[i] = result{p, preds[i]}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	for i, p := range images {
		fmt.Fprintf(stdout, "%s\n", filepath.Base(p))
		for r, q := range preds[i] {
			fmt.Fprintf(stdout, "  %d. %-30s %6.2f%%  (cosine %.4f)\n", r+1, q.Class, 100*q.Prob, q.Score)
		}
	}
	fmt.Fprintf(stderr, "time: %d classes × %d prompts %v, %d images %v\n",
		len(c.Classes), max(1, len(c.Templates)), tClasses.Round(time.Millisecond), len(images), tImg.Round(time.Millisecond))
	return nil
}

// classesAndTemplates resolves the --classes and --templates flags.
func classesAndTemplates(classes, templates string) ([]string, []string, error) {
	var names []string
	var err error
	if classes == "imagenet" {
		names = clip.ImageNetClasses()
	} else if names, err = clip.ReadList(classes); err != nil {
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
		if tmpl, err = clip.ReadList(templates); err != nil {
			return nil, nil, err
		}
	}
	return names, tmpl, nil
}
