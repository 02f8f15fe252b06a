package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/nlpodyssey/safetensors"

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
	fs := newFlagSet("preprocess", stderr)
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
		proc, err = imageproc.LoadProcessor(*model)
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
	views := make(map[string]safetensors.TensorView, len(paths))
	for i, p := range paths {
		buf := make([]byte, 4*n)
		for j, v := range px[i*n : (i+1)*n] {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
		}
		tv, err := safetensors.NewTensorView(safetensors.F32, []uint64{3, uint64(s), uint64(s)}, buf)
		if err != nil {
			return fmt.Errorf("preprocess: %w", err)
		}
		views[filepath.Base(p)] = tv
	}
	data, err := safetensors.Serialize(views, map[string]string{"format": "pt", "size": fmt.Sprint(s)})
	if err != nil {
		return fmt.Errorf("preprocess: %w", err)
	}
	if err := preprocessWriteFile(*out, data); err != nil {
		return fmt.Errorf("preprocess: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %d image(s) as [3,%d,%d] F32 to %s\n", len(paths), s, s, *out)
	return nil
}

// preprocessWriteFile writes through a temporary file in the same folder, so a
// failed run leaves no half-written output.
func preprocessWriteFile(path string, data []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+strings.TrimPrefix(base, ".")+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
	}
	return werr
}
