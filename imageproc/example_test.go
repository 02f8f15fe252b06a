package imageproc_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"

	"github.com/goclip/goclip/imageproc"
)

// Preprocess a batch of files for a 64 px model, as CLIPImageProcessor would.
func ExampleProcessor_Files() {
	proc, err := imageproc.New(imageproc.DefaultConfig(64)) // or LoadProcessor(modelDir)
	if err != nil {
		log.Fatal(err)
	}
	dir := filepath.Join("..", "testdata", "images")
	px, err := proc.Files(context.Background(), []string{
		filepath.Join(dir, "coffee_420.jpg"),
		filepath.Join(dir, "astronaut.q75.webp"),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("[%d,3,%d,%d]\n", len(px)/(3*64*64), proc.Size(), proc.Size())
	// Output: [2,3,64,64]
}

// Decode a file to RGB the way Pillow's Image.open(f).convert("RGB") does.
func ExampleDecodeFile() {
	img, err := imageproc.DecodeFile(filepath.Join("..", "testdata", "images", "chelsea_palette_trns.png"), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(img.Bounds())
	// Output: (0,0)-(150,100)
}
