// Command search embeds a folder of images once and answers text queries
// with the best-matching images.
//
//	go run ./examples/search -images ./photos "a dog on a beach" "a red car"
//
// With no query arguments it reads one query per line from standard input.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/goclip/goclip/clip"
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

	dir, err := modelDir(ctx, *model)
	check(err)
	m, err := clip.Load(dir, nil)
	check(err)
	defer m.Close()

	// Index: one normalised embedding per image.
	paths := imageFiles(*images)
	proc, err := imageproc.LoadProcessor(dir)
	check(err)
	pixels, err := proc.Files(ctx, paths)
	check(err)
	index, err := m.EmbedPixels(ctx, pixels, len(paths))
	check(err)
	clip.Normalize(index)
	fmt.Fprintf(os.Stderr, "indexed %d images\n", len(paths))

	answer := func(q string) {
		emb, err := m.EmbedTexts(ctx, []string{q})
		check(err)
		scores := clip.Similarity(emb, index)[0] // cosine of the query with every image
		order := make([]int, len(paths))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
		fmt.Printf("%q\n", q)
		for _, i := range order[:min(*top, len(order))] {
			fmt.Printf("  %.4f  %s\n", scores[i], filepath.Base(paths[i]))
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
