// Command similarity reproduces the seed experiment: ten random images of
// ImageNetV2 with their class names, both embedded with CLIP and
// L2-normalised, the cosine-similarity matrix printed and drawn as a
// heatmap, and each image classified zero-shot among the ten names.
//
//	go run ./examples/similarity
//
// The model and the dataset are Hub ids (found in the Hugging Face cache,
// or downloaded into it on first use) or local folders.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/dataset"
	"github.com/goclip/goclip/heatmap"
	"github.com/goclip/goclip/hub"
	"github.com/goclip/goclip/imageproc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "similarity:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("similarity", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "openai/clip-vit-base-patch32", "model folder or Hub id")
	ds := fs.String("dataset", "clip-benchmark/wds_imagenetv2", "WebDataset folder or Hub id")
	n := fs.Int("sample", 10, "number of images")
	seed := fs.Uint64("seed", 1, "sampling seed")
	out := fs.String("heatmap", "similarity.png", "heatmap file (.png or .svg)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t0 := time.Now()

	// The model and the dataset: folders, or Hub ids through the HF cache.
	hc := hub.New(&hub.Config{Progress: hub.NewProgressReporter(stderr)})
	dir, err := hub.ResolveModel(ctx, *model, hc)
	if err != nil {
		return err
	}
	m, err := clip.Load(dir, nil)
	if err != nil {
		return err
	}
	defer m.Close()
	proc, err := imageproc.LoadProcessor(dir)
	if err != nil {
		return err
	}
	d, err := dataset.Open(ctx, *ds, &dataset.Options{Hub: hc})
	if err != nil {
		return err
	}

	// Ten random images with their class names.
	samples, err := d.RandomSample(ctx, *n, *seed)
	if err != nil {
		return err
	}
	var names, labels []string
	var thumbs []image.Image
	var pixels []float32
	for _, s := range samples {
		if s.Label < 0 || s.Label >= len(d.Classnames) {
			return fmt.Errorf("%s: label %d, but the dataset has %d class names", s.Key, s.Label, len(d.Classnames))
		}
		img, err := imageproc.Decode(bytes.NewReader(s.Image), &imageproc.DecodeOptions{Name: s.Key})
		if err != nil {
			return err
		}
		px, err := proc.Image(img)
		if err != nil {
			return err
		}
		pixels = append(pixels, px...)
		thumbs = append(thumbs, img)
		names = append(names, d.Classnames[s.Label])
		labels = append(labels, s.Key+" · "+d.Classnames[s.Label])
	}
	tLoad := time.Since(t0)

	// Embed both sides, normalise, compare.
	t1 := time.Now()
	imgEmb, err := m.EmbedPixels(ctx, pixels)
	if err != nil {
		return err
	}
	txtEmb, err := m.EmbedTexts(ctx, names)
	if err != nil {
		return err
	}
	tEmbed := time.Since(t1)
	fmt.Fprintf(stdout, "image embeddings (%d, %d), text embeddings (%d, %d)\n", len(imgEmb), m.EmbedDim(), len(txtEmb), m.EmbedDim())
	clip.Normalize(imgEmb)
	clip.Normalize(txtEmb)
	sim, err := clip.Similarity(imgEmb, txtEmb)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, clip.FormatMatrix(sim))

	// The heatmap.
	err = heatmap.Save(*out, sim, &heatmap.Options{
		Title: "CLIP cosine similarity: ImageNetV2 images × class names", RowLabels: labels, ColLabels: names,
		Thumbnails: thumbs, RowAxis: "image", ColAxis: "class name", OutlineRowMax: true,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "heatmap:", *out)

	// Zero-shot among the sampled class names: softmax of the logits.
	right := 0
	for i, row := range sim {
		p := clip.TopK(row, m.LogitScale(), names, 1)[0]
		mark := "✗"
		if p.Class == names[i] {
			mark, right = "✓", right+1
		}
		fmt.Fprintf(stdout, "%s %-40s → %s (%.1f%%)\n", mark, labels[i], p.Class, 100*p.Prob)
	}
	fmt.Fprintf(stdout, "%d/%d correct\n", right, len(sim))
	fmt.Fprintf(stderr, "time: model, dataset and sample %v, embedding %d images and %d texts %v\n",
		tLoad.Round(time.Millisecond), len(imgEmb), len(txtEmb), tEmbed.Round(time.Millisecond))
	return nil
}
