package imageproc

import (
	"fmt"
	"image"
	"math"
	"runtime"
	"slices"

	"github.com/goclip/goclip/imageproc/internal/jpeg"
)

// OpenCLIPConfig is open_clip's eval image transform, as
// open_clip.image_transform_v2(PreprocessCfg, is_train=False) builds it
// from the preprocess_cfg of an open_clip_config.json: torchvision
// transforms on the PIL image Image.open gives (Pillow's resize, with its
// own bicubic and bilinear kernels and, for palette and bilevel images,
// nearest neighbour), then convert("RGB") (alpha dropped, not composited),
// ToTensor (level / 255 in float32) and Normalize (float32).
type OpenCLIPConfig struct {
	// Size is the output side S (preprocess_cfg.size, normally the vision
	// tower's image_size).
	Size int
	// Mean and Std are the per-channel normalisation; nil means OpenAI
	// CLIP's.
	Mean, Std []float64
	// Interpolation is "bicubic" (the default when empty), "bilinear", or
	// "random", which open_clip's eval transform treats as bicubic.
	Interpolation string
	// ResizeMode is "shortest" (the default when empty: shortest edge to S,
	// centre crop), "longest" (longest edge to S keeping the ratio, centre
	// pad with FillColor) or "squash" (straight to S x S).
	ResizeMode string
	// FillColor is the padding value of "longest" (0..255), given to
	// Pillow in the image's own mode as torchvision's pad does.
	FillColor int
}

// openCLIP is a validated OpenCLIPConfig.
type openCLIP struct {
	resizeMode string
	weights    weightMode
	fill       uint8
	mean, std  [3]float32
}

// NewOpenCLIP returns a processor computing open_clip's eval transform
// bit for bit (see OpenCLIPConfig); it refuses values open_clip does not
// accept, naming the field. Its decode options always drop alpha (open_clip
// converts with Image.convert("RGB")); DecodeOptions.DropAlpha and
// Background have no effect on it.
func NewOpenCLIP(c *OpenCLIPConfig) (*Processor, error) {
	if c == nil || c.Size <= 0 || c.Size > 8192 {
		return nil, &ConfigError{"size", "needs a positive size up to 8192"}
	}
	o := &openCLIP{resizeMode: c.ResizeMode, weights: weightsPillow}
	switch c.Interpolation {
	case "", "bicubic", "random":
	case "bilinear":
		o.weights = weightsPillowBilinear
	default:
		return nil, &ConfigError{"interpolation", fmt.Sprintf("%q is not one of bicubic, bilinear, random", c.Interpolation)}
	}
	switch c.ResizeMode {
	case "":
		o.resizeMode = "shortest"
	case "shortest", "longest", "squash":
	default:
		return nil, &ConfigError{"resize_mode", fmt.Sprintf("%q is not one of shortest, longest, squash", c.ResizeMode)}
	}
	if c.FillColor < 0 || c.FillColor > 255 {
		return nil, &ConfigError{"fill_color", fmt.Sprintf("%d is not a level 0..255", c.FillColor)}
	}
	o.fill = uint8(c.FillColor)
	mean, std := c.Mean, c.Std
	if mean == nil {
		mean = openAIMean[:]
	}
	if std == nil {
		std = openAIStd[:]
	}
	if len(mean) != 3 || len(std) != 3 {
		return nil, &ConfigError{"mean", "mean and std need 3 values"}
	}
	for i := range 3 {
		if !(std[i] > 0) {
			return nil, &ConfigError{"std", "must be positive"}
		}
		// torchvision's Normalize: torch.as_tensor(mean, dtype=float32).
		o.mean[i], o.std[i] = float32(mean[i]), float32(std[i])
	}
	s := c.Size
	cfg := DefaultConfig(s)
	cfg.ImageMean, cfg.ImageStd = slices.Clone(mean), slices.Clone(std)
	if o.weights == weightsPillowBilinear {
		cfg.Resample = resampleBilinear
	}
	if o.resizeMode != "shortest" {
		cfg.Size, cfg.DoCenterCrop = Size{Height: s, Width: s}, false
	}
	p := &Processor{cfg: *cfg, size: s, workers: runtime.GOMAXPROCS(0), budget: newBudget(0)}
	p.oc, p.mode = o, o.weights
	p.decode.DropAlpha, p.decode.openCLIP = true, true
	return p, nil
}

// resampleBilinear is PIL.Image.Resampling.BILINEAR, reported by an
// OpenCLIP processor's Config.
const resampleBilinear = 2

// pyRound2 is Python's int(round(n / 2.0)): halves round to even.
func pyRound2(n int) int { return int(math.RoundToEven(float64(n) / 2)) }

// ocGeometry is torchvision's and open_clip's geometry for an image of
// w x h: the resized size and the crop window's origin in it (negative
// where the window pads).
func (o *openCLIP) geometry(w, h, s int) (rw, rh, ox, oy int) {
	switch o.resizeMode {
	case "squash":
		return s, s, 0, 0
	case "longest":
		// ResizeKeepRatio(longest=1): ratio = max(h/S, w/S), sizes
		// round(x / ratio) with Python's round.
		ratio := max(float64(h)/float64(s), float64(w)/float64(s))
		rh = int(math.RoundToEven(float64(h) / ratio))
		rw = int(math.RoundToEven(float64(w) / ratio))
	default:
		// Resize(S): torchvision's _compute_resized_output_size.
		if w <= h {
			rw, rh = s, int(float64(s)*float64(h)/float64(w))
		} else {
			rw, rh = int(float64(s)*float64(w)/float64(h)), s
		}
	}
	// CenterCrop / center_crop_or_pad: pad (crop-size)//2 on the left/top
	// where the image is smaller, then crop at round((size - crop) / 2).
	ox, oy = centerCrop(rw, s), centerCrop(rh, s)
	return rw, rh, ox, oy
}

// centerCrop is one axis of torchvision's center_crop on a PIL image: the
// window's origin in image coordinates.
func centerCrop(size, crop int) int {
	if crop > size {
		pad := (crop - size) / 2
		padded := size + pad + (crop-size+1)/2 // == crop
		return pyRound2(padded-crop) - pad
	}
	return pyRound2(size - crop)
}

// processOpenCLIP is process for an OpenCLIP processor.
func (p *Processor) processOpenCLIP(src rowSource, out []float32, workers int) error {
	w, h := src.size()
	if err := checkAspect(w, h, maxAspect(&p.decode)); err != nil {
		return fmt.Errorf("imageproc: %w", err)
	}
	o, s := p.oc, p.size
	rw, rh, ox, oy := o.geometry(w, h, s)
	if rw < 1 || rh < 1 {
		return fmt.Errorf("imageproc: %dx%d resizes to an empty %dx%d image", w, h, rw, rh)
	}
	mode := modeOf(src)
	var lv []uint8
	switch mode.name {
	case "P", "1":
		lv = nearestCrop(src, rw, rh, ox, oy, s)
	case "RGBA":
		lv = resizeRGBA(mode.rgba, rw, rh, ox, oy, s, o.weights, workers)
	case "I;16":
		lv = resizeGray16(mode.g16, rw, rh, ox, oy, s, o.weights)
	case "CMYK":
		lv = resizeCMYK(mode.cmyk, rw, rh, ox, oy, s, o.weights, workers)
	default:
		lv = resizeCrop(src, rw, rh, ox, oy, s, s, o.weights, workers)
	}
	if fill := mode.fill(o.fill); fill != [3]uint8{} {
		padWindow(lv, rw, rh, ox, oy, s, fill)
	}
	plane := s * s
	for c := 0; c < 3; c++ {
		m, sd := o.mean[c], o.std[c]
		dst := out[c*plane : (c+1)*plane]
		for i := range dst {
			// ToTensor then Normalize, each step rounded to float32.
			dst[i] = (float32(lv[3*i+c])/255 - m) / sd
		}
	}
	return nil
}

// padWindow sets the pixels of the s x s window at (ox, oy) that lie
// outside the rw x rh resized image to fill.
func padWindow(lv []uint8, rw, rh, ox, oy, s int, fill [3]uint8) {
	for y := 0; y < s; y++ {
		in := y+oy >= 0 && y+oy < rh
		for x := 0; x < s; x++ {
			if in && x+ox >= 0 && x+ox < rw {
				continue
			}
			copy(lv[3*(y*s+x):3*(y*s+x)+3], fill[:])
		}
	}
}

// nearestCrop is Pillow's resize with NEAREST (what it uses for modes P
// and 1 whatever the filter asked for): ImagingScaleAffine, which steps
// the source coordinate by the scale from half a step in float64 and
// truncates. It returns the s x s window at (ox, oy), 0 outside.
func nearestCrop(src rowSource, rw, rh, ox, oy, s int) []uint8 {
	sw, sh := src.size()
	out := make([]uint8, 3*s*s)
	xin := make([]int, rw)
	ax, ay := float64(sw)/float64(rw), float64(sh)/float64(rh)
	xo := ax * 0.5
	for x := range xin {
		xin[x] = min(int(xo), sw-1)
		xo += ax
	}
	yo := ay * 0.5
	buf := make([]uint8, 5*sw+2)
	for y := 0; y < rh; y++ {
		yi := min(int(yo), sh-1)
		yo += ay
		if y < oy || y >= oy+s {
			continue
		}
		row := src.row(yi, 0, sw, buf)
		dst := out[3*s*(y-oy):]
		for x := max(ox, 0); x < min(ox+s, rw); x++ {
			copy(dst[3*(x-ox):3*(x-ox)+3], row[3*xin[x]:3*xin[x]+3])
		}
	}
	return out
}

// pilMode is the Pillow mode an image opens in, as far as open_clip's
// transform depends on it.
type pilMode struct {
	name string     // "RGB", "L", "1", "P", "RGBA", "CMYK", "I;16"
	pal  [][3]uint8 // P: the palette (pad fill is an index into it)
	// rgba: RGBA, the straight colour and alpha bands
	rgba *compositeSource
	cmyk *cmykRows     // CMYK: the bands
	g16  *image.Gray16 // I;16: the samples
}

// fill is the RGB that padding with level f gives after convert("RGB"):
// torchvision pads in the image's own mode.
func (m pilMode) fill(f uint8) [3]uint8 {
	switch m.name {
	case "P":
		if int(f) < len(m.pal) {
			return m.pal[f]
		}
		return [3]uint8{}
	case "1":
		if f != 0 {
			return [3]uint8{255, 255, 255}
		}
		return [3]uint8{}
	case "CMYK":
		var rgb [3]uint8
		cmykRow(rgb[:], []uint8{f, f, f, f}, 1)
		return rgb
	}
	return [3]uint8{f, f, f}
}

// rgbaMode is mode RGBA with img's bands (RGB if it has none after all).
func rgbaMode(img image.Image, base rowSource) pilMode {
	if cs := alphaRows(img, base); cs != nil {
		return pilMode{name: "RGBA", rgba: cs}
	}
	return pilMode{name: "RGB"}
}

// modeSource is a row source that knows its Pillow mode (OpenCLIP
// processors wrap their sources in one).
type modeSource struct {
	rowSource
	mode pilMode
}

func modeOf(src rowSource) pilMode {
	if m, ok := src.(*modeSource); ok {
		return m.mode
	}
	return pilMode{name: "RGB"}
}

// modeOfImage guesses the Pillow mode of a decoded image from its Go type,
// the format and the file's header (bit depths).
func modeOfImage(img image.Image, format string, data []byte, tiffInf *tiffInfo) pilMode {
	switch m := img.(type) {
	case *image.Paletted:
		pm := pilMode{name: "P"}
		for _, c := range m.Palette {
			pm.pal = append(pm.pal, straightRGB(c))
		}
		return pm
	case *image.Gray:
		if (format == "png" && len(data) > 24 && data[24] == 1) || (tiffInf != nil && tiffInf.bits == 1) {
			return pilMode{name: "1"}
		}
		return pilMode{name: "L"}
	case *image.Gray16:
		return pilMode{name: "I;16", g16: m}
	case *image.CMYK:
		return pilMode{name: "CMYK", cmyk: cmykSource(img)}
	case *image.NRGBA:
		if format == "webp" && !webpHasAlpha(data) {
			return pilMode{name: "RGB"}
		}
		return rgbaMode(img, nil)
	case *image.NRGBA64:
		return rgbaMode(img, nil)
	case *image.NYCbCrA:
		if format == "webp" {
			return rgbaMode(img, newWebPSource(&m.YCbCr))
		}
		return rgbaMode(img, nil)
	case *image.RGBA, *image.RGBA64:
		if format == "tiff" || (format == "" && !m.(interface{ Opaque() bool }).Opaque()) {
			return rgbaMode(img, nil)
		}
	case *jpeg.YCCK:
		if cs := cmykSource(img); cs != nil {
			return pilMode{name: "CMYK", cmyk: cs}
		}
	}
	return pilMode{name: "RGB"}
}
