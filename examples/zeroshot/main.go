// Command zeroshot classifies every image of a folder zero-shot against
// the 1,000 ImageNet classes, with OpenAI's 80 prompt templates.
//
//	go run ./examples/zeroshot -images ./photos
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/dataset"
	"github.com/goclip/goclip/hub"
	"github.com/goclip/goclip/imageproc"
)

func main() {
	model := flag.String("model", "openai/clip-vit-base-patch32", "model folder or Hub id")
	images := flag.String("images", ".", "folder of images")
	top := flag.Int("top", 3, "classes per image")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	dir, err := hub.ResolveModel(ctx, *model, hub.New(&hub.Config{Progress: hub.NewProgressReporter(os.Stderr)}))
	check(err)
	m, err := clip.Load(dir, nil)
	check(err)
	defer m.Close()

	// The text side: 1,000 classes × 80 templates, embedded once.
	c, err := clip.NewClassifier(ctx, m, clip.ImageNetClasses(), &clip.ClassifierOptions{
		Templates: clip.ImageNetTemplates(),
		Progress:  func(done, total int) { fmt.Fprintf(os.Stderr, "\rclass prompts %d/%d", done, total) },
	})
	check(err)
	fmt.Fprintln(os.Stderr)

	// The image side.
	proc, err := imageproc.LoadProcessor(dir)
	check(err)
	d, err := dataset.Open(ctx, *images, nil) // a folder of images (or class sub-folders)
	check(err)
	var names []string
	var pixels []float32
	for s, err := range d.Samples(ctx) {
		check(err)
		px, err := proc.Reader(bytes.NewReader(s.Image))
		check(err)
		pixels = append(pixels, px...)
		names = append(names, s.Key)
	}
	preds, err := c.ClassifyPixels(ctx, m, pixels, len(names), *top)
	check(err)

	for i, name := range names {
		fmt.Println(name)
		for _, q := range preds[i] {
			fmt.Printf("  %5.1f%%  %s\n", 100*q.Prob, q.Class)
		}
	}
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
