// Command zeroshot classifies image files zero-shot against the 1,000
// ImageNet classes with OpenAI's 80 prompt templates, or against labels of
// one's own.
//
//	go run ./examples/zeroshot photos/*.jpg
//	go run ./examples/zeroshot -labels "cat,dog,car" photos/*.jpg
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/hub"
)

func main() {
	model := flag.String("model", "openai/clip-vit-base-patch32", "model folder or Hub id")
	labels := flag.String("labels", "", "comma-separated class names (default: the ImageNet classes)")
	top := flag.Int("top", 3, "classes per image")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	dir, err := hub.ResolveModel(ctx, *model, nil)
	check(err)
	m, err := clip.Load(dir, nil)
	check(err)
	defer m.Close()

	// The text side, embedded once: every class with every template.
	classes := clip.ImageNetClasses()
	if *labels != "" {
		classes = strings.Split(*labels, ",")
	}
	c, err := clip.NewClassifier(ctx, m, classes, &clip.ClassifierOptions{
		Templates: clip.ImageNetTemplates(),
		Progress:  func(done, total int) { fmt.Fprintf(os.Stderr, "\rclass prompts %d/%d", done, total) },
	})
	check(err)
	fmt.Fprintln(os.Stderr)

	// The image side.
	emb, err := m.EmbedFiles(ctx, flag.Args(), nil)
	check(err)
	preds, err := c.Classify(emb, *top)
	check(err)
	for i, name := range flag.Args() {
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
