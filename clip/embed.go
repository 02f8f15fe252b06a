package clip

import (
	"context"
	"errors"
	"fmt"
	"image"

	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/tensor"
	"github.com/goclip/goclip/textenc"
	"github.com/goclip/goclip/vit"
)

// Every Embed method returns projected, unnormalised embeddings
// [n][EmbedDim()], as transformers' get_image_features and
// get_text_features do: normalise them with Normalize (in place) or
// Normalized (a copy) before comparing them by dot product. Similarity,
// Logits, Rank and Classifier normalise for themselves.

// FileError reports an image file that could not be read or decoded.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return "clip: " + e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// EmbedFilesOptions tune EmbedFiles; nil means defaults.
type EmbedFilesOptions struct {
	// SkipBad embeds the files that can be read and decoded and reports
	// the others, instead of failing on the first bad file.
	SkipBad bool
}

// EmbedImages embeds decoded images, preprocessed by the model's
// Processor. Projected, unnormalised (see Normalize).
func (m *Model) EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.release()
	prep := func(p *imageproc.Processor, i int) ([]float32, error) {
		if imgs[i] == nil {
			return nil, errors.New("nil image")
		}
		return p.Image(imgs[i])
	}
	bad := func(i int, err error) error { return fmt.Errorf("clip: image %d: %w", i, err) }
	if m.cfg.VisionConfig.NaFlex {
		patches := func(p *imageproc.Processor, i int) (*imageproc.Patches, error) {
			if imgs[i] == nil {
				return nil, errors.New("nil image")
			}
			return p.PatchesImage(imgs[i])
		}
		return m.embedEachPatches(ctx, len(imgs), patches, bad)
	}
	return m.embedEach(ctx, len(imgs), prep, bad)
}

// EmbedFiles decodes, preprocesses and embeds image files (JPEG, PNG, GIF,
// WebP, BMP, TIFF; decoded as Pillow does). A file that cannot be read or
// decoded gives a *FileError naming it: without opts.SkipBad the call
// fails with it; with SkipBad that file's row is nil, the other rows are
// filled, and the error joins every *FileError (nil when all files were
// good). Projected, unnormalised (see Normalize).
func (m *Model) EmbedFiles(ctx context.Context, paths []string, opts *EmbedFilesOptions) ([][]float32, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.release()
	var skipped []error
	prep := func(p *imageproc.Processor, i int) ([]float32, error) { return p.File(paths[i]) }
	bad := func(i int, err error) error {
		fe := &FileError{Path: paths[i], Err: err}
		if opts == nil || !opts.SkipBad {
			return fe
		}
		skipped = append(skipped, fe)
		return nil
	}
	var out [][]float32
	var err error
	if m.cfg.VisionConfig.NaFlex {
		patches := func(p *imageproc.Processor, i int) (*imageproc.Patches, error) { return p.PatchesFile(paths[i]) }
		out, err = m.embedEachPatches(ctx, len(paths), patches, bad)
	} else {
		out, err = m.embedEach(ctx, len(paths), prep, bad)
	}
	if err != nil {
		return nil, err
	}
	return out, errors.Join(skipped...)
}

// embedEach preprocesses and embeds n images a batch at a time: prep(p, i)
// returns image i's pixel values, called in parallel within the model's
// thread budget (p resizes on one goroutine, as the images already run
// side by side). An image whose prep fails goes to bad, which returns the
// error that ends the call, or nil to leave that image's row nil.
func (m *Model) embedEach(ctx context.Context, n int,
	prep func(p *imageproc.Processor, i int) ([]float32, error), bad func(i int, err error) error) ([][]float32, error) {
	out := make([][]float32, n)
	per, one := m.pixelsPerImage(), m.proc.WithWorkers(1)
	for i := 0; i < n; i += m.imagesPerChunk() {
		k := min(m.imagesPerChunk(), n-i)
		px := make([]float32, k*per)
		errs := make([]error, k)
		m.wk.Parallel(k, func(j int) {
			if ctx.Err() == nil {
				var v []float32
				if v, errs[j] = prep(one, i+j); errs[j] == nil {
					copy(px[j*per:(j+1)*per], v)
				}
			}
		})
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		good := make([]int, 0, k) // indices into the batch of prepared images
		for j, err := range errs {
			if err == nil {
				good = append(good, j)
			} else if err := bad(i+j, err); err != nil {
				return nil, err
			}
		}
		for g, j := range good { // pack the good images to the front
			copy(px[g*per:(g+1)*per], px[j*per:(j+1)*per])
		}
		e, err := m.embedPixels(ctx, px[:len(good)*per], i)
		if err != nil {
			return nil, err
		}
		for g, j := range good {
			out[i+j] = e[g]
		}
	}
	return out, nil
}

// EmbedPixels embeds images given as pixel values [n,3,S,S] (for example
// from Processor().Image); n is len(pixels)/(3·S·S). Projected,
// unnormalised (see Normalize). A SigLIP 2 NaFlex model has no fixed
// [3,S,S] input and refuses it: use EmbedPatches.
func (m *Model) EmbedPixels(ctx context.Context, pixels []float32) ([][]float32, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.release()
	return m.embedPixels(ctx, pixels, 0)
}

func (m *Model) pixelsPerImage() int {
	vc := &m.cfg.VisionConfig
	return vc.NumChannels * vc.ImageSize * vc.ImageSize
}

// embedPixels is EmbedPixels for a caller holding the model; first is the
// index of the first image in the caller's input, for error messages.
func (m *Model) embedPixels(ctx context.Context, pixels []float32, first int) ([][]float32, error) {
	vc := &m.cfg.VisionConfig
	if vc.NaFlex {
		return nil, errNaFlexPixels
	}
	per := m.pixelsPerImage()
	if len(pixels)%per != 0 {
		return nil, fmt.Errorf("clip: EmbedPixels: %d values are not a whole number of [%d,%d,%d] images",
			len(pixels), vc.NumChannels, vc.ImageSize, vc.ImageSize)
	}
	n := len(pixels) / per
	out := make([][]float32, 0, n)
	chunk := m.imagesPerChunk()
	for i := 0; i < n; i += chunk {
		if err := m.stopped(); err != nil {
			return nil, err
		}
		k := min(chunk, n-i)
		pooled, err := m.vision.Forward(ctx, pixels[i*per:(i+k)*per], k, nil)
		if err != nil {
			var pe *vit.PixelError
			if errors.As(err, &pe) {
				pe.Image += first + i // the caller's numbering
			}
			return nil, fmt.Errorf("clip: %w", err)
		}
		out = append(out, m.project(m.visualProj, pooled, k)...)
	}
	return out, nil
}

// EmbedTokens embeds token-id sequences (BOS … EOS, unpadded or padded).
// A SigLIP model (or an OpenCLIP one pooling at the last position) pads
// shorter sequences to its context length with its pad id, as it was
// trained. Projected, unnormalised (see Normalize).
func (m *Model) EmbedTokens(ctx context.Context, ids [][]int32) ([][]float32, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.release()
	ids, err := m.padded(ids)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, 0, len(ids))
	for i := 0; i < len(ids); i += m.batch {
		if err := m.stopped(); err != nil {
			return nil, err
		}
		k := min(m.batch, len(ids)-i)
		pooled, err := m.text.Forward(ctx, ids[i:i+k], nil)
		if err != nil {
			var te *textenc.InputError
			if errors.As(err, &te) {
				te.Seq += i
			}
			return nil, fmt.Errorf("clip: %w", err)
		}
		out = append(out, m.project(m.textProj, pooled, k)...)
	}
	return out, nil
}

// EmbedTexts tokenizes texts with the model's tokenizer (BOS … EOS,
// truncated to the text tower's length keeping the EOS) and embeds them.
// Projected, unnormalised (see Normalize).
func (m *Model) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	ids := make([][]int32, len(texts))
	for i, t := range texts {
		var err error
		if ids[i], err = m.encode(t); err != nil {
			return nil, err
		}
	}
	return m.EmbedTokens(ctx, ids)
}

// project applies a projection to n pooled rows and splits the result;
// a nil projection (SigLIP, whose towers end in their heads) splits the
// pooled rows as they are.
func (m *Model) project(l *tensor.Linear, pooled []float32, n int) [][]float32 {
	d := m.cfg.ProjectionDim
	flat := pooled
	if l != nil {
		flat = make([]float32, n*d)
		l.Forward(m.wk, flat, pooled, n, tensor.ActNone)
	}
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = flat[i*d : (i+1)*d : (i+1)*d]
	}
	return rows
}
