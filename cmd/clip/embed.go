package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/goclip/goclip/internal/safetensors"

	"github.com/goclip/goclip/imageproc"
)

// runEmbed writes image and text embeddings to a safetensors file:
//
//	clip embed --model DIR --out FILE.safetensors [--pixel-values FILE.safetensors] [--texts FILE] [IMAGE...]
//
// The file holds F32 image_embeds [N,D] and text_embeds [M,D], projected
// and not normalised. --texts has one JSON string per line; --pixel-values
// is a safetensors file of [3,S,S] F32 tensors taken in lexicographic order
// of their names. IMAGE files (in the order given) go through the
// model's CLIPImageProcessor configuration (package imageproc).
func runEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("embed", "usage: clip embed --model DIR --out FILE.safetensors [--pixel-values FILE.safetensors] [--texts FILE] [IMAGE...]", stderr)
	model := fs.String("model", "", "model folder or Hugging Face Hub id (org/name[@revision])")
	out := fs.String("out", "", "output safetensors file")
	pixelsPath := fs.String("pixel-values", "", "safetensors file of [3,S,S] F32 pixel values")
	textsPath := fs.String("texts", "", "file with one JSON string per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("embed: --out is required")
	}
	if fs.NArg() > 0 && *pixelsPath != "" {
		return errors.New("embed: give image files or --pixel-values, not both")
	}
	var texts []string
	if *textsPath != "" {
		var err error
		if texts, err = readJSONLines(*textsPath); err != nil {
			return fmt.Errorf("embed: %w", err)
		}
	}
	m, dir, err := loadModel(ctx, *model, stderr)
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	defer m.Close()
	d := m.EmbedDim()
	var img, txt [][]float32
	if *pixelsPath != "" {
		px, _, err := readPixelValues(*pixelsPath, m.ImageSize())
		if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		if img, err = m.EmbedPixels(ctx, px); err != nil {
			return fmt.Errorf("embed: %w", err)
		}
	}
	if fs.NArg() > 0 {
		proc, err := imageproc.LoadProcessor(dir)
		if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		if proc.Size() != m.ImageSize() {
			return fmt.Errorf("embed: preprocessor crops to %d px but the model takes %d px", proc.Size(), m.ImageSize())
		}
		px, err := proc.Files(ctx, fs.Args())
		if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		if img, err = m.EmbedPixels(ctx, px); err != nil {
			return fmt.Errorf("embed: %w", err)
		}
	}
	if len(texts) > 0 {
		if txt, err = m.EmbedTexts(ctx, texts); err != nil {
			return fmt.Errorf("embed: %w", err)
		}
	}
	if err := writeEmbeddings(*out, d, img, txt); err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %d image and %d text embeddings of dimension %d to %s\n", len(img), len(txt), d, *out)
	return nil
}

// readJSONLines reads one JSON string per non-empty line.
func readJSONLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s:%d: want a JSON string: %w", path, line, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// readPixelValues reads every tensor of a safetensors file, in name order,
// each F32 [3,S,S].
func readPixelValues(path string, size int) ([]float32, int, error) {
	w, err := safetensors.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer w.Close()
	names := w.Names()
	sort.Strings(names)
	px := make([]float32, 0, len(names)*3*size*size)
	for _, name := range names {
		v, err := w.Tensor(name, 3, size, size)
		if err != nil {
			return nil, 0, err
		}
		px = append(px, v...)
	}
	return px, len(names), nil
}

// writeEmbeddings writes F32 image_embeds [N,d] and text_embeds [M,d].
func writeEmbeddings(path string, d int, img, txt [][]float32) error {
	return safetensors.Save(path, []safetensors.NamedTensor{
		{Name: "image_embeds", Shape: []int{len(img), d}, Data: safetensors.Rows(img)},
		{Name: "text_embeds", Shape: []int{len(txt), d}, Data: safetensors.Rows(txt)},
	}, map[string]string{"format": "pt"})
}
