package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/goclip/goclip/internal/safetensors"

	"github.com/goclip/goclip/imageproc"
)

// runPreprocess writes CLIPImageProcessor pixel values for image files:
//
//	clip preprocess --model DIR --out FILE.safetensors IMAGE...
//	clip preprocess --size 224 --out FILE.safetensors IMAGE...
//
// Each image becomes one F32 [3,S,S] tensor keyed by its base file name,
// preprocessed as the model folder's preprocessor_config.json says (or
// OpenAI CLIP's defaults at --size px without a model). Files are decoded
// in parallel; the first unreadable one fails the command, naming it.
func runPreprocess(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("preprocess", "usage: clip preprocess --model DIR --out FILE.safetensors IMAGE...\n       clip preprocess --size 224 --out FILE.safetensors IMAGE...", stderr)
	model := fs.String("model", "", "model folder (preprocessor_config.json, or config.json's vision image_size)")
	size := fs.Int("size", 0, "without --model: OpenAI CLIP preprocessing at this size")
	out := fs.String("out", "", "output safetensors file")
	maxPixels := fs.Int64("max-pixels", imageproc.DefaultMaxPixels, "refuse images with more pixels (decompression-bomb limit; negative: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("preprocess: --out is required")
	}
	if fs.NArg() == 0 {
		return errors.New("preprocess: no image files given")
	}
	var proc *imageproc.Processor
	var err error
	switch {
	case *model != "" && *size != 0:
		return errors.New("preprocess: give --model or --size, not both")
	case *model != "":
		var dir string
		if dir, err = resolveModel(ctx, *model, stderr); err == nil {
			proc, err = imageproc.LoadProcessor(dir)
		}
	case *size > 0:
		proc, err = imageproc.New(imageproc.DefaultConfig(*size))
	default:
		return errors.New("preprocess: --model or --size is required")
	}
	if err != nil {
		return fmt.Errorf("preprocess: %w", err)
	}
	proc = proc.WithDecodeOptions(&imageproc.DecodeOptions{MaxPixels: *maxPixels})

	paths := fs.Args()
	keys := make(map[string]string, len(paths))
	for _, p := range paths {
		k := filepath.Base(p)
		if prev, dup := keys[k]; dup {
			return fmt.Errorf("preprocess: %s and %s have the same base name %q", prev, p, k)
		}
		keys[k] = p
	}
	px, err := proc.Files(ctx, paths)
	if err != nil {
		return fmt.Errorf("preprocess: %w", err)
	}
	s := proc.Size()
	n := 3 * s * s
	ts := make([]safetensors.NamedTensor, len(paths))
	for i, p := range paths {
		ts[i] = safetensors.NamedTensor{Name: filepath.Base(p), Shape: []int{3, s, s}, Data: px[i*n : (i+1)*n]}
	}
	if err := safetensors.Save(*out, ts, map[string]string{"format": "pt", "size": fmt.Sprint(s)}); err != nil {
		return fmt.Errorf("preprocess: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %d image(s) as [3,%d,%d] F32 to %s\n", len(paths), s, s, *out)
	return nil
}
