package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/openclip"
	"github.com/goclip/goclip/internal/safefile"
	"github.com/goclip/goclip/internal/safetensors"
)

const preprocessHelp = `usage: clip preprocess --model M --out FILE.safetensors IMAGE...
       clip preprocess --size 224 --out FILE.safetensors IMAGE...

Writes CLIPImageProcessor pixel values: each image becomes one F32 [3,S,S]
tensor keyed by its base file name, preprocessed as the model folder's
preprocessor_config.json says (or OpenAI CLIP's defaults at --size px
without a model); an OpenCLIP folder (open_clip_config.json, no
config.json) gets open_clip's own eval transform from its preprocess_cfg,
as clip.Load gives it. Files are decoded in parallel; the first unreadable one
fails the command, naming it.

arguments:
  IMAGE...   image files (JPEG, PNG, GIF, BMP, TIFF, WebP); their base
             names must differ`

// runPreprocess implements `clip preprocess`.
func runPreprocess(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCmdFlags("preprocess", preprocessHelp)
	model := fs.String("model", "", "model folder or Hub id (preprocessor_config.json, or config.json's vision image_size)")
	size := fs.Int("size", 0, "without --model: OpenAI CLIP preprocessing at this size")
	out := fs.String("out", "", "output safetensors file")
	maxPixels := fs.Int64("max-pixels", imageproc.DefaultMaxPixels, "refuse images with more pixels (decompression-bomb limit; negative: none)")
	paths, err := fs.parse(args, stdout)
	if err != nil {
		return err
	}
	if *out == "" {
		return fs.usage("--out is required")
	}
	if len(paths) == 0 {
		return fs.usage("no image files given")
	}
	var proc *imageproc.Processor
	switch {
	case *model != "" && *size != 0:
		return fs.usage("give --model or --size, not both")
	case *model != "":
		var dir string
		if dir, err = resolveModel(ctx, *model, stderr); err == nil {
			proc, err = modelProcessor(dir)
		}
	case *size > 0:
		proc, err = imageproc.New(imageproc.DefaultConfig(*size))
	default:
		return fs.usage("--model or --size is required")
	}
	if err != nil {
		return err
	}
	if proc.NaFlex() {
		return fmt.Errorf("a SigLIP 2 NaFlex model (Siglip2ImageProcessor) gives each image a patch grid of its own shape, not [3,S,S] pixel values; embed the image files instead")
	}
	proc = proc.WithDecodeOptions(&imageproc.DecodeOptions{MaxPixels: *maxPixels})

	keys := make(map[string]string, len(paths))
	for _, p := range paths {
		k := filepath.Base(p)
		if prev, dup := keys[k]; dup {
			return fs.usage("%s and %s have the same base name %q", prev, p, k)
		}
		keys[k] = p
	}
	px, err := proc.Files(ctx, paths)
	if err != nil {
		return err
	}
	s := proc.Size()
	n := 3 * s * s
	ts := make([]safetensors.NamedTensor, len(paths))
	for i, p := range paths {
		ts[i] = safetensors.NamedTensor{Name: filepath.Base(p), Shape: []int{3, s, s}, Data: px[i*n : (i+1)*n]}
	}
	b, err := safetensors.Encode(ts, map[string]string{"format": "pt", "size": fmt.Sprint(s)})
	if err != nil {
		return err
	}
	if err := writeFileAtomic(*out, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d image(s) as [3,%d,%d] F32 to %s\n", len(paths), s, s, *out)
	return nil
}

// modelProcessor is the image preprocessing of a model folder without
// loading the weights: open_clip's transform for an OpenCLIP folder (as
// clip.Load picks it), else preprocessor_config.json / config.json.
func modelProcessor(dir string) (*imageproc.Processor, error) {
	_, _, hasConfig, err := clipConfig(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "open_clip_config.json")
	if _, statErr := os.Stat(path); hasConfig || statErr != nil {
		return imageproc.LoadProcessor(dir)
	}
	b, err := safefile.ReadFile(path, safefile.MaxConfigBytes)
	if err != nil {
		return nil, err
	}
	oc, err := openclip.ParseConfig(b)
	if err != nil {
		return nil, err
	}
	return imageproc.NewOpenCLIP(&oc.Preprocess)
}
