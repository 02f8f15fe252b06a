// Package imageproc decodes image files and turns them into the pixel
// values Hugging Face transformers' CLIPImageProcessor (transformers 5,
// torchvision backend) gives a CLIP vision model: resize of the shortest
// edge with antialiased bicubic on 8-bit RGB (ATen's fixed-point uint8
// path), centre crop, rescale and normalise to a [3,S,S] float32 tensor.
//
// Decoding follows what CLIPImageProcessor does with Image.open(f) (see
// Decode): Pillow's decoders, and transformers 5's convert_to_rgb, which
// composites transparency onto white (DecodeOptions.DropAlpha gives
// transformers 4's Image.convert("RGB")), so that a file gives the same
// pixels as in Python. NewOpenCLIP gives open_clip's own eval transform
// instead (Pillow's resize on the image's own mode, torchvision's crop,
// ToTensor and Normalize), for OpenCLIP checkpoints. It depends on the
// standard library and golang.org/x/image only.
package imageproc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/goclip/goclip/internal/safefile"
)

// Processor turns images into CLIP pixel values. It is safe for concurrent
// use.
type Processor struct {
	cfg     Config
	size    int        // output side S
	mean    [3]float32 // fused: value = (float32(level) - mean) / std
	std     [3]float32
	scale   float32 // rescale factor when rescaling without normalising
	mode    weightMode
	decode  DecodeOptions
	budget  *budget // shared by the concurrent decodes of this Processor
	workers int
	oc      *openCLIP // open_clip's transform instead of transformers' (NewOpenCLIP)
}

// New returns a processor for cfg; nil means OpenAI CLIP's defaults at
// 224 px (DefaultConfig(224)).
func New(cfg *Config) (*Processor, error) {
	if cfg == nil {
		cfg = DefaultConfig(224)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Processor{cfg: *cfg, workers: runtime.GOMAXPROCS(0), budget: newBudget(0)}
	p.cfg.ImageMean, p.cfg.ImageStd = slices.Clone(cfg.ImageMean), slices.Clone(cfg.ImageStd)
	p.size, _ = cfg.outSize()
	if cfg.NaFlex {
		p.size = 0
		if cfg.Resample == ResampleBilinear {
			p.mode = weightsTorchBilinear
		}
	}
	// transformers' _fuse_mean_std_and_rescale_factor: with both rescale and
	// normalise, mean and std become float32 tensors times 1/rescale_factor
	// (a float32 product), and normalize computes (x - mean) / std in float32.
	inv := float32(1)
	if cfg.DoRescale && cfg.DoNormalize {
		inv = float32(1 / cfg.RescaleFactor)
	}
	for c := 0; c < 3; c++ {
		p.mean[c], p.std[c] = 0, 1
		if cfg.DoNormalize {
			p.mean[c] = float32(cfg.ImageMean[c]) * inv
			p.std[c] = float32(cfg.ImageStd[c]) * inv
		}
	}
	p.scale = 1
	if cfg.DoRescale && !cfg.DoNormalize {
		p.scale = float32(cfg.RescaleFactor)
	}
	return p, nil
}

// LoadProcessor reads dir/preprocessor_config.json. If the model folder has
// none, it uses OpenAI CLIP's defaults at the vision tower's image_size from
// dir/config.json (vision_config.image_size), so a 336 px model without a
// preprocessor file is not silently fed 224 px images; if neither file
// exists it fails.
func LoadProcessor(dir string) (*Processor, error) {
	data, err := safefile.ReadFile(filepath.Join(dir, "preprocessor_config.json"), safefile.MaxConfigBytes)
	if err == nil {
		cfg, err := ParseConfig(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "preprocessor_config.json"), err)
		}
		return New(cfg)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	path := filepath.Join(dir, "config.json")
	data, err2 := safefile.ReadFile(path, safefile.MaxConfigBytes)
	if err2 != nil {
		return nil, fmt.Errorf("imageproc: no preprocessor_config.json or config.json in %s: %w", dir, err)
	}
	var mc struct {
		Vision struct {
			ImageSize int `json:"image_size"`
		} `json:"vision_config"`
	}
	if err := json.Unmarshal(data, &mc); err != nil {
		return nil, fmt.Errorf("imageproc: %s: %w", path, err)
	}
	if mc.Vision.ImageSize <= 0 {
		return nil, fmt.Errorf("imageproc: %s: no vision_config.image_size and no preprocessor_config.json", path)
	}
	return New(DefaultConfig(mc.Vision.ImageSize))
}

// WithDecodeOptions returns a copy of p that decodes files and readers with
// opts (limits, transparency, and a decode budget of its own); nil
// restores the defaults.
func (p *Processor) WithDecodeOptions(opts *DecodeOptions) *Processor {
	q := *p
	q.decode = DecodeOptions{}
	if opts != nil {
		q.decode = *opts
	}
	q.decode.DropAlpha, q.decode.openCLIP = q.decode.DropAlpha || q.oc != nil, q.oc != nil
	q.budget = newBudget(q.decode.DecodeBudget)
	return &q
}

// WithWorkers returns a copy of p that resizes one image, or decodes the
// files of one Files call, on at most n goroutines; n <= 0 means
// runtime.GOMAXPROCS(0), the default. A clip.Model sets it to its thread
// budget.
func (p *Processor) WithWorkers(n int) *Processor {
	q := *p
	q.workers = n
	if n <= 0 {
		q.workers = runtime.GOMAXPROCS(0)
	}
	return &q
}

// Size is the side S of the [3,S,S] output (0 for NaFlex).
func (p *Processor) Size() int { return p.size }

// Config returns a copy of the configuration in use.
func (p *Processor) Config() Config {
	c := p.cfg
	c.ImageMean, c.ImageStd = slices.Clone(c.ImageMean), slices.Clone(c.ImageStd)
	return c
}

// Image preprocesses an image into [3,S,S] float32 values (channel-major).
// Transparency is handled as the decode options say (composited onto white
// by default: an image with alpha, or a palette with transparent entries;
// *image.RGBA counts as premultiplied); *image.YCbCr is converted as JPEG
// (JFIF) data with libjpeg's fancy upsampling, as Decode does.
func (p *Processor) Image(img image.Image) ([]float32, error) {
	if img == nil || img.Bounds().Empty() {
		return nil, errors.New("imageproc: empty image")
	}
	out := make([]float32, 3*p.size*p.size)
	if err := p.process(memorySource(img, &p.decode), out, p.workers); err != nil {
		return nil, err
	}
	return out, nil
}

// Reader decodes an image from r (see Decode) and preprocesses it.
func (p *Processor) Reader(r io.Reader) ([]float32, error) {
	src, release, err := decodeSource(r, &p.decode, p.budget)
	if err != nil {
		return nil, err
	}
	defer release()
	out := make([]float32, 3*p.size*p.size)
	if err := p.process(src, out, p.workers); err != nil {
		return nil, err
	}
	return out, nil
}

// File decodes and preprocesses the image file at path.
func (p *Processor) File(path string) ([]float32, error) {
	out := make([]float32, 3*p.size*p.size)
	return out, p.file(path, out, p.workers)
}

func (p *Processor) file(path string, out []float32, workers int) error {
	f, _, err := safefile.Open(path) // regular files only: a FIFO would block
	if err != nil {
		return err
	}
	defer f.Close()
	src, release, err := decodeSource(f, withName(&p.decode, path), p.budget)
	if err != nil {
		return err
	}
	defer release()
	return p.process(src, out, workers)
}

// Files decodes and preprocesses image files in parallel (at most
// GOMAXPROCS at a time) into one [N,3,S,S] tensor, in the order given. The
// first error (naming its file) or the context's error stops the batch.
func (p *Processor) Files(ctx context.Context, paths []string) ([]float32, error) {
	n := 3 * p.size * p.size
	out := make([]float32, len(paths)*n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	jobs := make(chan int)
	for w := 0; w < min(p.workers, len(paths)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := p.file(paths[i], out[i*n:(i+1)*n], 1); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
feed:
	for i := range paths {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// geometry returns the resized size and the crop window's origin in it.
func (p *Processor) geometry(w, h int) (rw, rh, ox, oy int) {
	c := &p.cfg
	rw, rh = w, h
	if c.DoResize {
		if s := c.Size.ShortestEdge; s > 0 {
			// get_resize_output_image_size(default_to_square=False):
			// long side int(s * long / short), in float64.
			if w <= h {
				rw, rh = s, int(float64(s)*float64(h)/float64(w))
			} else {
				rw, rh = int(float64(s)*float64(w)/float64(h)), s
			}
		} else {
			rw, rh = c.Size.Width, c.Size.Height
		}
	}
	if c.DoCenterCrop {
		ch, cw := c.CropSize.Height, c.CropSize.Width
		// center_crop: pad by (crop - size) // 2 on the top/left when the
		// crop is larger, else offset int((size - crop) / 2).
		ox, oy = cropOrigin(rw, cw), cropOrigin(rh, ch)
	}
	return rw, rh, ox, oy
}

func cropOrigin(size, crop int) int {
	if crop > size {
		return -((crop - size) / 2)
	}
	return int(float64(size-crop) / 2)
}

// process resamples, crops and normalises src into out ([3,S,S]). It
// refuses images over the aspect limit (decoded files were checked before
// decoding; this covers image.Image inputs), which also bounds the resized
// sides and so the work of makeTaps.
func (p *Processor) process(src rowSource, out []float32, workers int) error {
	if p.cfg.NaFlex {
		return errors.New("imageproc: a Siglip2ImageProcessor (NaFlex) gives a grid of patches per image; use the Patches methods")
	}
	if p.oc != nil {
		return p.processOpenCLIP(src, out, workers)
	}
	w, h := src.size()
	if err := checkAspect(w, h, maxAspect(&p.decode)); err != nil {
		return fmt.Errorf("imageproc: %w", err)
	}
	rw, rh, ox, oy := p.geometry(w, h)
	if rw < 1 || rh < 1 {
		return fmt.Errorf("imageproc: %dx%d resizes to an empty %dx%d image", w, h, rw, rh)
	}
	s := p.size
	lv := resizeCrop(src, rw, rh, ox, oy, s, s, p.mode, workers)
	plane := s * s
	for c := 0; c < 3; c++ {
		m, sd, sc := p.mean[c], p.std[c], p.scale
		dst := out[c*plane : (c+1)*plane]
		if sc != 1 {
			for i := range dst {
				dst[i] = float32(lv[3*i+c]) * sc
			}
			continue
		}
		for i := range dst {
			dst[i] = (float32(lv[3*i+c]) - m) / sd
		}
	}
	return nil
}
