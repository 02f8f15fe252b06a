package clip

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/safefile"
	"github.com/goclip/goclip/vit"
)

// SigLIP 2 NaFlex (FamilySigLIP2): each image is a grid of patches of its
// own shape (Siglip2ImageProcessor keeps the aspect ratio), so its pixels
// are not a [3,S,S] block. EmbedImages and EmbedFiles preprocess and
// embed as for the other families; callers with their own preprocessing
// use EmbedPatches with Processor().PatchesImage / PatchesFile.

// sigLIP reports a SigLIP-family model (SigLIP or SigLIP 2 NaFlex): heads
// instead of projections, logit_bias, SentencePiece tokenizer.
func (c *Config) sigLIP() bool { return c.Family == FamilySigLIP || c.Family == FamilySigLIP2 }

// naflexProcessor is a SigLIP 2 NaFlex folder's image processing: its
// preprocessor_config.json, which must be a Siglip2ImageProcessor, or
// Siglip2ImageProcessor's defaults at the tower's patch size.
func naflexProcessor(dir string, vc *vit.Config, workers int) (*imageproc.Processor, error) {
	path := filepath.Join(dir, "preprocessor_config.json")
	data, err := safefile.ReadFile(path, safefile.MaxConfigBytes)
	var c *imageproc.Config
	switch {
	case err == nil:
		if c, err = imageproc.ParseConfig(data); err != nil {
			return nil, fmt.Errorf("clip: %s: %w", path, err)
		}
		if !c.NaFlex {
			return nil, fmt.Errorf("clip: %s: a siglip2 (NaFlex) model needs image_processor_type Siglip2ImageProcessor", path)
		}
	case errors.Is(err, fs.ErrNotExist):
		c = imageproc.DefaultNaFlexConfig()
		c.PatchSize = vc.PatchSize
	default:
		return nil, fmt.Errorf("clip: %w", err)
	}
	if c.PatchSize != vc.PatchSize {
		return nil, fmt.Errorf("clip: %s: patch_size %d differs from the vision tower's patch_size %d", path, c.PatchSize, vc.PatchSize)
	}
	p, err := imageproc.New(c)
	if err != nil {
		return nil, err
	}
	return p.WithWorkers(workers), nil
}

var errNaFlexPixels = errors.New("clip: EmbedPixels: a SigLIP 2 NaFlex model takes each image as a grid of patches of its own shape, " +
	"not [n,3,S,S] pixels; use EmbedPatches (with Processor().PatchesFile or PatchesImage), EmbedFiles or EmbedImages")

// EmbedPatches embeds images preprocessed by a SigLIP 2 NaFlex model's
// Processor (PatchesFile, PatchesImage, PatchesReader): each a grid of
// Height×Width patches, Values [Height·Width, P·P·3] in the processor's
// (y, x, channel) order, as Siglip2ImageProcessor's pixel_values rows
// without the padding (the padded rows of transformers' input carry no
// weight in the model). Other models refuse it. Projected, unnormalised
// (see Normalize).
func (m *Model) EmbedPatches(ctx context.Context, patches []imageproc.Patches) ([][]float32, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.release()
	if !m.cfg.VisionConfig.NaFlex {
		return nil, errors.New("clip: EmbedPatches needs a SigLIP 2 NaFlex model; use EmbedPixels")
	}
	out := make([][]float32, 0, len(patches))
	chunk := m.imagesPerChunk()
	for i := 0; i < len(patches); i += chunk {
		k := min(chunk, len(patches)-i)
		e, err := m.embedPatches(ctx, patches[i:i+k], i)
		if err != nil {
			return nil, err
		}
		out = append(out, e...)
	}
	return out, nil
}

// embedPatches embeds one pass of NaFlex images; first is the index of
// the first in the caller's input, for error messages.
func (m *Model) embedPatches(ctx context.Context, ps []imageproc.Patches, first int) ([][]float32, error) {
	if err := m.stopped(); err != nil {
		return nil, err
	}
	vc := &m.cfg.VisionConfig
	k := vc.PatchDim()
	shapes := make([]vit.Shape, len(ps))
	total := 0
	for i, p := range ps {
		shapes[i] = vit.Shape{Height: p.Height, Width: p.Width}
		if p.Height < 1 || p.Width < 1 || p.Height > vit.MaxNaFlexPatches || p.Width > vit.MaxNaFlexPatches ||
			len(p.Values) != p.Height*p.Width*k { // both sides bounded: the product cannot overflow
			return nil, fmt.Errorf("clip: image %d: %d values for a %d×%d grid of %d-value patches", first+i, len(p.Values), p.Height, p.Width, k)
		}
		total += len(p.Values)
	}
	flat := make([]float32, 0, total)
	for _, p := range ps {
		flat = append(flat, p.Values...)
	}
	pooled, err := m.vision.ForwardPatches(ctx, flat, shapes, nil)
	if err != nil {
		var pe *vit.PixelError
		if errors.As(err, &pe) {
			pe.Image += first
		}
		return nil, fmt.Errorf("clip: %w", err)
	}
	return m.project(m.visualProj, pooled, len(ps)), nil
}

// embedEachPatches is embedEach for NaFlex models: prep(p, i) returns
// image i's patches.
func (m *Model) embedEachPatches(ctx context.Context, n int,
	prep func(p *imageproc.Processor, i int) (*imageproc.Patches, error), bad func(i int, err error) error) ([][]float32, error) {
	out := make([][]float32, n)
	one := m.proc.WithWorkers(1)
	for i := 0; i < n; i += m.imagesPerChunk() {
		k := min(m.imagesPerChunk(), n-i)
		ps := make([]*imageproc.Patches, k)
		errs := make([]error, k)
		m.wk.Parallel(k, func(j int) {
			if ctx.Err() == nil {
				ps[j], errs[j] = prep(one, i+j)
			}
		})
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var good []int
		var batch []imageproc.Patches
		for j, err := range errs {
			if err == nil {
				good = append(good, j)
				batch = append(batch, *ps[j])
			} else if err := bad(i+j, err); err != nil {
				return nil, err
			}
		}
		e, err := m.embedPatches(ctx, batch, i)
		if err != nil {
			return nil, err
		}
		for g, j := range good {
			out[i+j] = e[g]
		}
	}
	return out, nil
}
