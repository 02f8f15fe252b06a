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
	"strings"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/hub"
)

func main() {
	model := flag.String("model", "openai/clip-vit-base-patch32", "model folder or Hub id")
	images := flag.String("images", ".", "folder of images")
	top := flag.Int("top", 3, "images per query")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	dir, err := hub.ResolveModel(ctx, *model, nil)
	check(err)
	m, err := clip.Load(dir, nil)
	check(err)
	defer m.Close()

	// The index: one embedding per image file; files that are not images
	// are reported and left out.
	files, err := filepath.Glob(filepath.Join(*images, "*"))
	check(err)
	emb, err := m.EmbedFiles(ctx, files, &clip.EmbedFilesOptions{SkipBad: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "skipped:", err)
	}
	var names []string
	var index [][]float32
	for i, e := range emb {
		if e != nil {
			names, index = append(names, files[i]), append(index, e)
		}
	}
	fmt.Fprintf(os.Stderr, "indexed %d images\n", len(names))

	answer := func(q string) {
		qe, err := m.EmbedTexts(ctx, []string{q})
		check(err)
		best, err := clip.Rank(qe[0], index, *top)
		check(err)
		fmt.Printf("%q\n", q)
		for _, b := range best {
			fmt.Printf("  %.4f  %s\n", b.Score, names[b.Index])
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
