// Command zeroshot classifies every image of a folder zero-shot against
// the 1,000 ImageNet classes, with OpenAI's 80 prompt templates.
//
//	go run ./examples/zeroshot -images ./photos
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goclip/goclip/clip"
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

	dir, err := modelDir(ctx, *model)
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
	paths := imageFiles(*images)
	proc, err := imageproc.LoadProcessor(dir)
	check(err)
	pixels, err := proc.Files(ctx, paths)
	check(err)
	preds, err := c.ClassifyPixels(ctx, m, pixels, len(paths), *top)
	check(err)

	for i, p := range paths {
		fmt.Println(filepath.Base(p))
		for _, q := range preds[i] {
			fmt.Printf("  %5.1f%%  %s\n", 100*q.Prob, q.Class)
		}
	}
}

// imageFiles lists the folder's image files, sorted.
func imageFiles(dir string) []string {
	ents, err := os.ReadDir(dir)
	check(err)
	var out []string
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp":
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		log.Fatalf("no images in %s", dir)
	}
	slices.Sort(out)
	return out
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// modelDir returns name if it is a folder, else the snapshot folder of the
// Hub model name in the Hugging Face cache, downloading it on first use.
func modelDir(ctx context.Context, name string) (string, error) {
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return name, nil
	}
	cfg := hub.ConfigFromEnv()
	cfg.Progress = hub.NewProgressBar(os.Stderr)
	return hub.New(&cfg).Snapshot(ctx, hub.Repo{ID: name},
		[]string{"config.json", "model.safetensors"},
		[]string{"preprocessor_config.json", "tokenizer.json", "vocab.json", "merges.txt"})
}
