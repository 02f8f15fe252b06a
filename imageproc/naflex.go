package imageproc

import (
	"errors"
	"fmt"
	"image"
	"io"
	"math"

	"github.com/goclip/goclip/internal/safefile"
)

// Patches is one image as Siglip2ImageProcessor (SigLIP 2 NaFlex) gives
// it, without the padding: a grid of Height×Width patches, row-major,
// each PatchSize·PatchSize·3 values in (y, x, channel) order (the
// processor's pixel_values rows; its pixel_attention_mask is 1 for these
// Height·Width rows and 0 for the padding up to max_num_patches, its
// spatial_shapes is (Height, Width)).
type Patches struct {
	Values        []float32
	Height, Width int
}

// NaFlexSize is transformers' get_image_size_for_max_num_patches: the
// size (a multiple of patch, at least one patch per side) an h×w image is
// resized to, by a binary search over the scale (in float64, as in
// Python) for the largest grid with at most maxPatches patches.
func NaFlexSize(h, w, patch, maxPatches int) (th, tw int) {
	scaled := func(scale float64, size int) int {
		s := float64(size) * scale
		s = math.Ceil(s/float64(patch)) * float64(patch)
		return int(math.Max(float64(patch), s))
	}
	const eps = 1e-5
	lo, hi := eps/10, 100.0
	for hi-lo >= eps {
		scale := (lo + hi) / 2
		th, tw = scaled(scale, h), scaled(scale, w)
		if float64(th)/float64(patch)*(float64(tw)/float64(patch)) <= float64(maxPatches) {
			lo = scale
		} else {
			hi = scale
		}
	}
	return scaled(lo, h), scaled(lo, w)
}

var errNotNaFlex = errors.New("imageproc: Patches needs a Siglip2ImageProcessor (NaFlex) configuration")

// NaFlex reports that p is a Siglip2ImageProcessor: use the Patches
// methods, not Image/File/Reader.
func (p *Processor) NaFlex() bool { return p.cfg.NaFlex }

// PatchesImage preprocesses an image as Siglip2ImageProcessor does (see
// Image for how the image is read).
func (p *Processor) PatchesImage(img image.Image) (*Patches, error) {
	if img == nil || img.Bounds().Empty() {
		return nil, errors.New("imageproc: empty image")
	}
	return p.patches(memorySource(img, &p.decode), p.workers)
}

// PatchesReader decodes an image from r (see Decode) and preprocesses it
// as Siglip2ImageProcessor does.
func (p *Processor) PatchesReader(r io.Reader) (*Patches, error) {
	src, release, err := decodeSource(r, &p.decode, p.budget)
	if err != nil {
		return nil, err
	}
	defer release()
	return p.patches(src, p.workers)
}

// PatchesFile decodes and preprocesses the image file at path as
// Siglip2ImageProcessor does.
func (p *Processor) PatchesFile(path string) (*Patches, error) {
	f, _, err := safefile.Open(path) // regular files only: a FIFO would block
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, release, err := decodeSource(f, withName(&p.decode, path), p.budget)
	if err != nil {
		return nil, err
	}
	defer release()
	return p.patches(src, p.workers)
}

// patches resizes src to its NaFlex size (antialiased, 8-bit, as the
// torchvision backend does), normalises and cuts it into patches.
func (p *Processor) patches(src rowSource, workers int) (*Patches, error) {
	if !p.cfg.NaFlex {
		return nil, errNotNaFlex
	}
	w, h := src.size()
	if err := checkAspect(w, h, maxAspect(&p.decode)); err != nil {
		return nil, fmt.Errorf("imageproc: %w", err)
	}
	ps := p.cfg.PatchSize
	th, tw := NaFlexSize(h, w, ps, p.cfg.MaxNumPatches)
	lv := resizeCrop(src, tw, th, 0, 0, tw, th, p.mode, workers)
	gh, gw := th/ps, tw/ps
	out := &Patches{Values: make([]float32, gh*gw*ps*ps*3), Height: gh, Width: gw}
	run := ps * 3 // one patch row: P pixels of 3 channels
	i := 0
	for gy := 0; gy < gh; gy++ {
		for gx := 0; gx < gw; gx++ {
			for y := 0; y < ps; y++ {
				row := lv[((gy*ps+y)*tw+gx*ps)*3:][:run]
				for j, v := range row {
					out.Values[i+j] = p.level(v, j%3)
				}
				i += run
			}
		}
	}
	return out, nil
}

// level is the rescaled and normalised value of an 8-bit level of
// channel c, as process computes it.
func (p *Processor) level(v uint8, c int) float32 {
	if p.scale != 1 {
		return float32(v) * p.scale
	}
	return (float32(v) - p.mean[c]) / p.std[c]
}
