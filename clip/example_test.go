package clip_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/synth"
)

// Load a model folder, embed texts and pixel values, and compare them.
// (A tiny synthetic model stands in for a Hugging Face download here.)
func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "clip-example")
	defer os.RemoveAll(dir)
	if err := synth.WriteModel(dir, synth.Tiny(), 1); err != nil {
		log.Fatal(err)
	}

	m, err := clip.Load(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	texts, err := m.EmbedTexts(ctx, []string{"a photo of a cat", "a photo of a dog"})
	if err != nil {
		log.Fatal(err)
	}
	s := m.ImageSize()
	pixels := make([]float32, 1*3*s*s) // [n,3,S,S], as CLIPImageProcessor makes them
	images, err := m.EmbedPixels(ctx, pixels, 1)
	if err != nil {
		log.Fatal(err)
	}
	logits := m.Logits(images, texts) // [images][texts]
	fmt.Println(m.EmbedDim(), len(texts), len(images), len(logits[0]))
	// Output: 24 2 1 2
}
