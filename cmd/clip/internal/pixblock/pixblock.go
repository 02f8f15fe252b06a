// Package pixblock gives the commands built on fixed-size per-image
// pixel blocks (eval's pipeline, index build, serve's batcher) one
// preprocessing and embedding pair for every model family.
package pixblock

import (
	"bytes"
	"context"
	"fmt"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
)

// Model preprocesses and embeds images as fixed-size blocks: a model's
// [3,S,S] pixel values, or for a SigLIP 2 NaFlex model, whose images are patch grids
// of their own shape, a block is the grid's patch values padded with
// zeros to max_num_patches patches, followed by the grid's height and
// width: the same numbers EmbedFiles computes.
type Model struct {
	m    *clip.Model
	proc *imageproc.Processor
	per  int // values per block (NaFlex); 0 otherwise
	k    int // values per patch (NaFlex)
}

// New adapts m, preprocessing with proc (nil: m.Processor()).
func New(m *clip.Model, proc *imageproc.Processor) *Model {
	if proc == nil {
		proc = m.Processor()
	}
	p := &Model{m: m, proc: proc}
	if p.proc.NaFlex() {
		c := p.proc.Config()
		p.k = c.PatchSize * c.PatchSize * 3
		p.per = c.MaxNumPatches*p.k + 2
	}
	return p
}

// Encoded preprocesses one encoded image into its block.
func (p *Model) Encoded(b []byte) ([]float32, error) {
	if p.per == 0 {
		return p.proc.Reader(bytes.NewReader(b))
	}
	ps, err := p.proc.PatchesReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out := make([]float32, p.per)
	copy(out, ps.Values)
	out[p.per-2], out[p.per-1] = float32(ps.Height), float32(ps.Width)
	return out, nil
}

// EmbedPixels embeds blocks of Encoded (evaluate.ImageEmbedder).
func (p *Model) EmbedPixels(ctx context.Context, px []float32) ([][]float32, error) {
	if p.per == 0 {
		return p.m.EmbedPixels(ctx, px)
	}
	if len(px)%p.per != 0 {
		return nil, fmt.Errorf("%d values are not whole NaFlex blocks of %d", len(px), p.per)
	}
	ps := make([]imageproc.Patches, len(px)/p.per)
	for i := range ps {
		b := px[i*p.per : (i+1)*p.per]
		h, w := int(b[p.per-2]), int(b[p.per-1])
		if h < 1 || w < 1 || h*w*p.k > p.per-2 {
			return nil, fmt.Errorf("NaFlex block %d: bad grid %dx%d", i, h, w)
		}
		ps[i] = imageproc.Patches{Values: b[:h*w*p.k], Height: h, Width: w}
	}
	return p.m.EmbedPatches(ctx, ps)
}
