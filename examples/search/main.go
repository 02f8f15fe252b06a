// Command search embeds a folder of images once and answers text queries
// with the best-matching images.
//
//	go run ./examples/search -images ./photos "a dog on a beach" "a red car"
//
// With no query arguments it reads one query per line from standard input.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sort"
	"strings"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/dataset"
	"github.com/goclip/goclip/hub"
	"github.com/goclip/goclip/imageproc"
)

func main() {
	model := flag.String("model", "openai/clip-vit-base-patch32", "model folder or Hub id")
	images := flag.String("images", ".", "folder of images")
	top := flag.Int("top", 3, "images per query")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	dir, err := hub.ResolveModel(ctx, *model, hub.New(&hub.Config{Progress: hub.NewProgressReporter(os.Stderr)}))
	check(err)
	m, err := clip.Load(dir, nil)
	check(err)
	defer m.Close()

	// Index: one normalised embedding per image.
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
	index, err := m.EmbedPixels(ctx, pixels, len(names))
	check(err)
	clip.Normalize(index)
	fmt.Fprintf(os.Stderr, "indexed %d images\n", len(names))

	answer := func(q string) {
		emb, err := m.EmbedTexts(ctx, []string{q})
		check(err)
		scores := clip.Similarity(emb, index)[0] // cosine of the query with every image
		order := make([]int, len(names))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
		fmt.Printf("%q\n", q)
		for _, i := range order[:min(*top, len(order))] {
			fmt.Printf("  %.4f  %s\n", scores[i], names[i])
		}
	}
	if flag.NArg() > 0 {
		for _, q := range flag.Args() {
			answer(q)
		}
		return
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if q := strings.TrimSpace(sc.Text()); q != "" {
			answer(q)
		}
	}
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
