package clip_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"log"
	"os"
	"path/filepath"
	"sync"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/synth"
)

// A new user's program: load a model, embed a folder that holds one file
// that is not an image, embed an image already in memory, rank the folder
// for a text, classify zero-shot with one's own labels, embed concurrently,
// and close the model while requests are in flight. (A tiny synthetic model
// stands in for hub.ResolveModel(ctx, "openai/clip-vit-base-patch32", nil).)
func Example() {
	dir, _ := os.MkdirTemp("", "clip-example")
	defer os.RemoveAll(dir)
	if err := synth.WriteModel(filepath.Join(dir, "model"), synth.Tiny(), 1); err != nil {
		log.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("not an image"), 0o644)
	folder := []string{"../testdata/images/coffee_420.jpg", filepath.Join(dir, "README.md"), "../testdata/images/camera_grey.png"}

	ctx := context.Background()
	m, err := clip.Load(filepath.Join(dir, "model"), &clip.LoadOptions{Threads: 2})
	if err != nil {
		log.Fatal(err)
	}
	imgs, err := m.EmbedFiles(ctx, folder, &clip.EmbedFilesOptions{SkipBad: true})
	var bad *clip.FileError
	if errors.As(err, &bad) {
		fmt.Println("skipped", filepath.Base(bad.Path)) // imgs[1] is nil
	}
	photo := image.NewRGBA(image.Rect(0, 0, 80, 60))
	for i := range photo.Pix {
		photo.Pix[i] = uint8(i)
	}
	photo.Set(0, 0, color.White)
	mem, err := m.EmbedImages(ctx, []image.Image{photo})
	if err != nil {
		log.Fatal(err)
	}
	query, err := m.EmbedTexts(ctx, []string{"a photo of a coffee cup"})
	if err != nil {
		log.Fatal(err)
	}
	best, err := clip.Rank(query[0], [][]float32{imgs[0], imgs[2]}, 1)
	if err != nil {
		log.Fatal(err)
	}
	zs, err := clip.NewClassifier(ctx, m, []string{"cat", "coffee", "camera"},
		&clip.ClassifierOptions{Templates: []string{"a photo of a {}.", "a picture of a {}."}})
	if err != nil {
		log.Fatal(err)
	}
	top, err := zs.Classify(mem, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(imgs), len(best), len(top[0]), m.EmbedDim())

	var wg sync.WaitGroup // concurrent calls; Close waits for those in flight
	for range 4 {
		wg.Go(func() {
			if _, err := m.EmbedTexts(ctx, []string{"a dog"}); err != nil && !errors.Is(err, clip.ErrClosed) {
				log.Fatal(err)
			}
		})
	}
	m.Close()
	wg.Wait()
	_, err = m.EmbedTexts(ctx, []string{"too late"})
	fmt.Println(errors.Is(err, clip.ErrClosed))
	// Output:
	// skipped README.md
	// 3 1 2 24
	// true
}
