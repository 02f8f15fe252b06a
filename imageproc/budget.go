package imageproc

import (
	"fmt"
	"image"
	"image/color"
	"sync"
)

// DefaultMaxAspect is the default DecodeOptions.MaxAspect: the longer side
// of an image may be at most this many times the shorter one. Pillow has no
// such limit; CLIP's centre crop of a 10,000:1 image sees a hundredth of a
// percent of it, and the resize of a 1×N "aspect-ratio bomb" (far under the
// pixel limit) would otherwise make a side of 224·N pixels.
const DefaultMaxAspect = 10_000

// DefaultDecodeBudget is the default DecodeOptions.DecodeBudget: 512 MiB of
// decoded pixels (plus the encoded bytes) in flight at once per Processor,
// whatever the number of goroutines calling it.
const DefaultDecodeBudget = 512 << 20

// ErrAspect is wrapped (in a *DecodeError) by images whose aspect ratio
// exceeds DecodeOptions.MaxAspect.
var ErrAspect = fmt.Errorf("%w: aspect ratio above the limit", ErrTooLarge)

// checkAspect refuses w×h when the longer side exceeds max times the
// shorter one (max <= 0: no limit) or a side is not positive.
func checkAspect(w, h int, limit int64) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("invalid size %dx%d", w, h)
	}
	long, short := int64(max(w, h)), int64(min(w, h))
	if limit > 0 && long > limit*short {
		return fmt.Errorf("%w: %dx%d is more than %d:1 (DecodeOptions.MaxAspect)", ErrAspect, w, h, limit)
	}
	return nil
}

func maxAspect(o *DecodeOptions) int64 {
	if o == nil || o.MaxAspect == 0 {
		return DefaultMaxAspect
	}
	return o.MaxAspect
}

// decodedBytes estimates the memory a decoder allocates for an image with
// this header: bytes per pixel of the Go image type the decoder returns.
func decodedBytes(cfg image.Config) int64 {
	bpp := int64(8) // unknown models: assume 16-bit RGBA
	switch cfg.ColorModel {
	case color.GrayModel, color.AlphaModel:
		bpp = 1
	case color.Gray16Model, color.Alpha16Model:
		bpp = 2
	case color.YCbCrModel:
		bpp = 3 // 4:4:4 at most
	case color.RGBAModel, color.NRGBAModel, color.NYCbCrAModel, color.CMYKModel:
		bpp = 4
	case color.RGBA64Model, color.NRGBA64Model:
		bpp = 8
	default:
		if _, ok := cfg.ColorModel.(color.Palette); ok {
			bpp = 1
		}
	}
	return int64(cfg.Width) * int64(cfg.Height) * bpp
}

// budget admits decodes while the bytes in flight stay within limit; one
// image larger than the whole budget is admitted alone. It bounds the
// memory of concurrent decodes by bytes, not by the number of goroutines.
type budget struct {
	mu    sync.Mutex
	cond  sync.Cond
	limit int64
	used  int64
	peak  int64 // high-water mark of used, for tests
}

func newBudget(limit int64) *budget {
	if limit == 0 {
		limit = DefaultDecodeBudget
	}
	b := &budget{limit: limit}
	b.cond.L = &b.mu
	return b
}

// acquire waits until n bytes fit and returns the function that gives them
// back. A nil budget or a negative limit admits everything at once.
func (b *budget) acquire(n int64) func() {
	if b == nil || b.limit < 0 {
		return func() {}
	}
	b.mu.Lock()
	for b.used > 0 && b.used+n > b.limit {
		b.cond.Wait()
	}
	b.used += n
	b.peak = max(b.peak, b.used)
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.used -= n
			b.mu.Unlock()
			b.cond.Broadcast()
		})
	}
}
