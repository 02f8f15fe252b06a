// Command fakehub serves a model folder and a dataset on a fake Hugging
// Face Hub on loopback (hub/hubtest), so the README's commands can be run
// end to end without the real Hub: point HF_ENDPOINT at the URL it prints.
//
//	go run ./cmd/clip synth --preset b32 --out /tmp/b32
//	go run ./tools/fakehub --model /tmp/b32 &
//	HF_ENDPOINT=http://127.0.0.1:PORT HF_HUB_CACHE=/tmp/hfcache \
//	    go run ./cmd/clip similarity --model openai/clip-vit-base-patch32 \
//	    --dataset clip-benchmark/wds_imagenetv2 --sample 10 --seed 1 --heatmap similarity.png
//
// Without --dataset it serves an ImageNetV2-shaped dataset made by
// internal/fakewds (drawings and the project's test photos). It runs until
// interrupted, or for --for.
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/goclip/goclip/hub/hubtest"
	"github.com/goclip/goclip/internal/fakewds"
)

func main() {
	model := flag.String("model", "", "model folder to serve (required)")
	modelID := flag.String("model-id", "openai/clip-vit-base-patch32", "Hub id the model is served as")
	ds := flag.String("dataset", "", "dataset folder to serve (default: a generated ImageNetV2-shaped one)")
	dsID := flag.String("dataset-id", "clip-benchmark/wds_imagenetv2", "Hub id the dataset is served as")
	photos := flag.String("photos", "testdata/images", "with the generated dataset: folder of the project's test photos (empty: drawings only)")
	dropAfter := flag.Int64("drop-after", -1, "drop the first download of model.safetensors after this many bytes (to watch a resume)")
	urlFile := flag.String("url-file", "", "also write the Hub URL to this file")
	life := flag.Duration("for", 0, "stop after this long (0: run until interrupted)")
	flag.Parse()
	if *model == "" {
		log.Fatal("fakehub: --model is required (e.g. a folder made by `clip synth --preset b32`)")
	}

	srv := hubtest.New()
	defer srv.Close()
	files, err := readTree(*model)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "model   %s: %d files, commit %s\n", *modelID, len(files), srv.AddRepo("model", *modelID, files))
	files = nil
	var dsFiles map[string][]byte
	if *ds != "" {
		dsFiles, err = readTree(*ds)
	} else {
		dsFiles, _, err = fakewds.ImageNetV2(&fakewds.Options{Photos: *photos})
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "dataset %s: %d files, commit %s\n", *dsID, len(dsFiles), srv.AddRepo("dataset", *dsID, dsFiles))
	if *dropAfter >= 0 {
		srv.DropAfter("model.safetensors", *dropAfter)
	}
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(srv.URL+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("HF_ENDPOINT=" + srv.URL)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *life > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *life)
		defer cancel()
	}
	<-ctx.Done()
	var gets int
	for _, r := range srv.Requests() {
		if r.Method == "GET" {
			gets++
		}
	}
	fmt.Fprintf(os.Stderr, "fakehub: served %d requests (%d GET)\n", len(srv.Requests()), gets)
}

// readTree reads every file below dir, keyed by slash-separated relative path.
func readTree(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fakehub: %w", err)
	}
	return files, nil
}
