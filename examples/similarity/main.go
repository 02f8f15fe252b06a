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
	"strconv"
	"strings"
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
	in, err := sample(ctx, *ds, hc, *n, *seed)
	if err != nil {
		return err
	}
	tLoad := time.Since(t0)

	t1 := time.Now()
	sim, err := compare(ctx, m, in, stdout)
	if err != nil {
		return err
	}
	tEmbed := time.Since(t1)
	if err := report(m, in, sim, *out, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "time: model, dataset and sample %v, embedding %d images and %d texts %v\n",
		tLoad.Round(time.Millisecond), len(in.images), len(in.names), tEmbed.Round(time.Millisecond))
	return nil
}

// input is the sample: decoded images (embedded and drawn as thumbnails
// from the same decode), their class names and row labels.
type input struct {
	images        []image.Image
	names, labels []string
}

// sample draws n random images of the dataset with their class names.
func sample(ctx context.Context, ds string, hc *hub.Client, n int, seed uint64) (*input, error) {
	d, err := dataset.Open(ctx, ds, &dataset.Options{Hub: hc})
	if err != nil {
		return nil, err
	}
	samples, err := d.RandomSample(ctx, n, seed)
	if err != nil {
		return nil, err
	}
	in := &input{}
	for _, s := range samples {
		if s.Label < 0 || s.Label >= len(d.Classnames) {
			return nil, fmt.Errorf("%s: label %d, but the dataset has %d class names", s.Key, s.Label, len(d.Classnames))
		}
		img, err := imageproc.Decode(bytes.NewReader(s.Image), &imageproc.DecodeOptions{Name: s.Key})
		if err != nil {
			return nil, err
		}
		in.images = append(in.images, img)
		in.names = append(in.names, d.Classnames[s.Label])
		in.labels = append(in.labels, s.Key+" · "+d.Classnames[s.Label])
	}
	return in, nil
}

// compare embeds both sides, normalises them and prints their cosine
// similarities.
func compare(ctx context.Context, m *clip.Model, in *input, stdout io.Writer) ([][]float32, error) {
	imgEmb, err := m.EmbedImages(ctx, in.images)
	if err != nil {
		return nil, err
	}
	txtEmb, err := m.EmbedTexts(ctx, in.names)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "image embeddings (%d, %d), text embeddings (%d, %d)\n", len(imgEmb), m.EmbedDim(), len(txtEmb), m.EmbedDim())
	sim, err := clip.Similarity(imgEmb, txtEmb) // cosine: normalises for itself
	if err != nil {
		return nil, err
	}
	printMatrix(stdout, sim)
	return sim, nil
}

// report draws the heatmap and classifies each image zero-shot among the
// sampled class names (softmax of the logits).
func report(m *clip.Model, in *input, sim [][]float32, out string, stdout io.Writer) error {
	err := heatmap.Save(out, sim, &heatmap.Options{
		Title: "CLIP cosine similarity: ImageNetV2 images × class names", RowLabels: in.labels, ColLabels: in.names,
		Thumbnails: in.images, RowAxis: "image", ColAxis: "class name", OutlineRowMax: true,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "heatmap:", out)
	right := 0
	for i, row := range sim {
		p := clip.TopK(row, m.LogitScale(), in.names, 1)[0]
		mark := "✗"
		if p.Class == in.names[i] {
			mark, right = "✓", right+1
		}
		fmt.Fprintf(stdout, "%s %-40s → %s (%.1f%%)\n", mark, in.labels[i], p.Class, 100*p.Prob)
	}
	fmt.Fprintf(stdout, "%d/%d correct\n", right, len(sim))
	return nil
}

// printMatrix prints a matrix in numpy's brackets, one row per line, each
// value the shortest decimal that reads back as the same float32.
func printMatrix(w io.Writer, m [][]float32) {
	for i, row := range m {
		open, end := " [", "]"
		if i == 0 {
			open = "[["
		}
		if i == len(m)-1 {
			end = "]]"
		}
		cells := make([]string, len(row))
		for j, v := range row {
			cells[j] = strconv.FormatFloat(float64(v), 'g', -1, 32)
		}
		fmt.Fprintln(w, open+strings.Join(cells, " ")+end)
	}
}
