package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/safetensors"
)

const embedHelp = `usage: clip embed --model M --out FILE.safetensors [--texts FILE] [--text T ...] [IMAGE...]
       clip embed --model M --out FILE.safetensors --pixel-values FILE.safetensors [--texts FILE]

Writes the projected, unnormalised image and text embeddings of the model
(get_image_features / get_text_features) to a safetensors file, mode 0644,
written atomically: F32 image_embeds [N,D] and text_embeds [M,D]. The
file's metadata names its rows: "images" is a JSON array of the image
files (or pixel-value tensor names), "texts" a JSON array of the texts.
At least one image or text is required.

arguments:
  IMAGE...   image files (JPEG, PNG, GIF, BMP, TIFF, WebP), in the order of
             the rows, preprocessed as the model's preprocessor_config.json says

--texts FILE has one text per line; a .jsonl file has one JSON string per
line. --pixel-values is a safetensors file of [3,S,S] F32 tensors, taken in
lexicographic order of their names.`

// runEmbed implements `clip embed`.
func runEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCmdFlags("embed", embedHelp)
	model := fs.String("model", defaultModel, "model folder or Hugging Face Hub id (org/name[@revision])")
	var prec clip.Precision
	precisionVar(fs.FlagSet, &prec)
	out := fs.String("out", "", "output safetensors file (required)")
	pixelsPath := fs.String("pixel-values", "", "safetensors file of [3,S,S] F32 pixel values")
	textsPath := fs.String("texts", "", "file of texts, one per line (.jsonl: one JSON string per line)")
	var texts stringList
	fs.Var(&texts, "text", "a text to embed (repeatable)")
	images, err := fs.parse(args, stdout)
	if err != nil {
		return err
	}
	switch {
	case *out == "":
		return fs.usage("--out is required")
	case len(images) > 0 && *pixelsPath != "":
		return fs.usage("give image files or --pixel-values, not both")
	case len(images) == 0 && *pixelsPath == "" && *textsPath == "" && len(texts) == 0:
		return fs.usage("nothing to embed: give image files, --pixel-values, --texts or --text")
	}
	if *textsPath != "" {
		t, err := readList(*textsPath)
		if err != nil {
			return err
		}
		texts = append(t, texts...)
	}
	m, err := loadModel(ctx, *model, prec, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	var img, txt [][]float32
	names := images
	if *pixelsPath != "" && m.ImageSize() == 0 {
		return fmt.Errorf("--pixel-values takes [3,S,S] pixel values; a SigLIP 2 NaFlex model has no fixed image size (give image files)")
	}
	if *pixelsPath != "" {
		var px []float32
		if px, names, err = readPixelValues(*pixelsPath, m.ImageSize()); err != nil {
			return err
		}
		if img, err = m.EmbedPixels(ctx, px); err != nil {
			return err
		}
	} else if len(images) > 0 {
		if img, err = m.EmbedFiles(ctx, images, nil); err != nil {
			return err
		}
	}
	if len(texts) > 0 {
		if txt, err = m.EmbedTexts(ctx, texts); err != nil {
			return err
		}
	}
	if err := writeEmbeddings(*out, m.EmbedDim(), img, txt, names, texts); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d image and %d text embeddings of dimension %d to %s\n", len(img), len(txt), m.EmbedDim(), *out)
	return nil
}

// readPixelValues reads every tensor of a safetensors file, in name order,
// each F32 [3,S,S], and returns them with their names.
func readPixelValues(path string, size int) ([]float32, []string, error) {
	w, err := safetensors.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer w.Close()
	names := w.Names()
	sort.Strings(names)
	px := make([]float32, 0, len(names)*3*size*size)
	for _, name := range names {
		v, err := w.Tensor(name, 3, size, size)
		if err != nil {
			return nil, nil, err
		}
		px = append(px, v...)
	}
	return px, names, nil
}

// writeEmbeddings writes F32 image_embeds [N,d] and text_embeds [M,d] with
// the names of the images and the texts in the metadata.
func writeEmbeddings(path string, d int, img, txt [][]float32, images, texts []string) error {
	imagesJSON, err := json.Marshal(append([]string{}, images...))
	if err != nil {
		return err
	}
	textsJSON, err := json.Marshal(append([]string{}, texts...))
	if err != nil {
		return err
	}
	b, err := safetensors.Encode([]safetensors.NamedTensor{
		{Name: "image_embeds", Shape: []int{len(img), d}, Data: safetensors.Rows(img)},
		{Name: "text_embeds", Shape: []int{len(txt), d}, Data: safetensors.Rows(txt)},
	}, map[string]string{"format": "pt", "images": string(imagesJSON), "texts": string(textsJSON)})
	if err != nil {
		return err
	}
	return writeFileAtomic(path, func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(b))
		return err
	})
}
