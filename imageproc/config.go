package imageproc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Resampling filters, numbered as PIL.Image.Resampling (the "resample"
// field of preprocessor_config.json).
const (
	ResampleBilinear = 2
	ResampleBicubic  = 3
)

// Size is a "size" or "crop_size" entry of preprocessor_config.json.
// Either ShortestEdge is set (resize keeping the aspect ratio) or Height and
// Width are (an exact size).
type Size struct {
	ShortestEdge int `json:"shortest_edge,omitempty"`
	Height       int `json:"height,omitempty"`
	Width        int `json:"width,omitempty"`
	// LongestEdge is parsed only to reject it: it is not implemented.
	LongestEdge int `json:"longest_edge,omitempty"`
}

// Config is a CLIP image processor configuration, read from a Hugging Face
// preprocessor_config.json with the same field names. Fields absent from the
// file take CLIPImageProcessor's defaults (OpenAI CLIP at 224 px).
type Config struct {
	DoResize      bool      `json:"do_resize"`
	Size          Size      `json:"size"`
	Resample      int       `json:"resample"`
	DoCenterCrop  bool      `json:"do_center_crop"`
	CropSize      Size      `json:"crop_size"`
	DoRescale     bool      `json:"do_rescale"`
	RescaleFactor float64   `json:"rescale_factor"`
	DoNormalize   bool      `json:"do_normalize"`
	ImageMean     []float64 `json:"image_mean"`
	ImageStd      []float64 `json:"image_std"`
	DoConvertRGB  bool      `json:"do_convert_rgb"`
	// PatchSize and MaxNumPatches are Siglip2ImageProcessor's (NaFlex):
	// each image is resized, keeping its aspect ratio, to the largest grid
	// of PatchSize-pixel patches with at most MaxNumPatches patches.
	PatchSize     int `json:"patch_size"`
	MaxNumPatches int `json:"max_num_patches"`
	// NaFlex is set when image_processor_type is Siglip2ImageProcessor:
	// the output is a variable grid of patches (Processor.Patches), not a
	// fixed [3,S,S] image.
	NaFlex bool `json:"-"`
}

// OpenAI CLIP's normalisation constants (transformers' OPENAI_CLIP_MEAN/STD).
var (
	openAIMean = [3]float64{0.48145466, 0.4578275, 0.40821073}
	openAIStd  = [3]float64{0.26862954, 0.26130258, 0.27577711}
)

// DefaultConfig returns CLIPImageProcessor's defaults at size px:
// shortest edge resized to size with antialiased bicubic, centre crop
// size x size, x 1/255, OpenAI mean and std.
func DefaultConfig(size int) *Config {
	return &Config{
		DoResize: true, Size: Size{ShortestEdge: size}, Resample: ResampleBicubic,
		DoCenterCrop: true, CropSize: Size{Height: size, Width: size},
		DoRescale: true, RescaleFactor: 1.0 / 255,
		DoNormalize: true, ImageMean: slices.Clone(openAIMean[:]), ImageStd: slices.Clone(openAIStd[:]),
		DoConvertRGB: true,
	}
}

// DefaultSigLIPConfig returns SiglipImageProcessor's defaults at size px,
// which fill the fields a SigLIP preprocessor_config.json omits: resize
// straight to size x size (no aspect ratio kept, no crop) with
// antialiased bicubic, x 1/255, mean and std 0.5 (IMAGENET_STANDARD).
func DefaultSigLIPConfig(size int) *Config {
	c := DefaultConfig(size)
	c.Size, c.DoCenterCrop = Size{Height: size, Width: size}, false
	c.ImageMean, c.ImageStd = []float64{0.5, 0.5, 0.5}, []float64{0.5, 0.5, 0.5}
	return c
}

// DefaultNaFlexConfig returns Siglip2ImageProcessor's defaults (SigLIP 2
// NaFlex): patches of 16 pixels, at most 256 per image, antialiased
// bilinear resize, x 1/255, mean and std 0.5; no crop.
func DefaultNaFlexConfig() *Config {
	c := DefaultSigLIPConfig(224)
	c.Size, c.Resample, c.PatchSize, c.MaxNumPatches, c.NaFlex = Size{}, ResampleBilinear, 16, 256, true
	return c
}

// ConfigError reports an invalid or unsupported preprocessor configuration.
type ConfigError struct {
	Field string
	Msg   string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("imageproc: preprocessor config: %s: %s", e.Field, e.Msg)
}

// ParseConfig parses preprocessor_config.json in either layout: the 2021
// one ("size": 224, "crop_size": 224, integers meaning shortest edge and
// square crop) or the newer one ({"shortest_edge": 224},
// {"height": 224, "width": 224}). Unknown fields are ignored. Omitted
// fields take CLIPImageProcessor's defaults, or SiglipImageProcessor's
// (DefaultSigLIPConfig) when image_processor_type names it.
func ParseConfig(data []byte) (*Config, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &ConfigError{"json", err.Error()}
	}
	c := DefaultConfig(224)
	if v, ok := raw["image_processor_type"]; ok {
		var typ string
		if err := json.Unmarshal(v, &typ); err != nil {
			return nil, &ConfigError{"image_processor_type", err.Error()}
		}
		switch typ {
		case "SiglipImageProcessor", "SiglipImageProcessorFast":
			c = DefaultSigLIPConfig(224)
		case "Siglip2ImageProcessor", "Siglip2ImageProcessorFast":
			c = DefaultNaFlexConfig()
		}
	}
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"do_resize", &c.DoResize}, {"do_center_crop", &c.DoCenterCrop}, {"do_rescale", &c.DoRescale},
		{"do_normalize", &c.DoNormalize}, {"do_convert_rgb", &c.DoConvertRGB}} {
		if v, ok := raw[f.name]; ok && !isNull(v) {
			if err := json.Unmarshal(v, f.dst); err != nil {
				return nil, &ConfigError{f.name, err.Error()}
			}
		}
	}
	if v, ok := raw["size"]; ok && !isNull(v) {
		s, err := parseSize(v, false)
		if err != nil {
			return nil, &ConfigError{"size", err.Error()}
		}
		c.Size = s
	}
	if v, ok := raw["crop_size"]; ok && !isNull(v) {
		s, err := parseSize(v, true)
		if err != nil {
			return nil, &ConfigError{"crop_size", err.Error()}
		}
		c.CropSize = s
	}
	for _, f := range []struct {
		name string
		dst  any
	}{{"resample", &c.Resample}, {"rescale_factor", &c.RescaleFactor},
		{"patch_size", &c.PatchSize}, {"max_num_patches", &c.MaxNumPatches}} {
		if v, ok := raw[f.name]; ok && !isNull(v) {
			if err := json.Unmarshal(v, f.dst); err != nil {
				return nil, &ConfigError{f.name, err.Error()}
			}
		}
	}
	for _, f := range []struct {
		name string
		dst  *[]float64
	}{{"image_mean", &c.ImageMean}, {"image_std", &c.ImageStd}} {
		v, ok := raw[f.name]
		if !ok || isNull(v) {
			continue
		}
		var x float64
		var xs []float64
		if json.Unmarshal(v, &x) == nil { // a single number applies to all channels
			*f.dst = []float64{x, x, x}
		} else if err := json.Unmarshal(v, &xs); err != nil {
			return nil, &ConfigError{f.name, err.Error()}
		} else {
			*f.dst = xs
		}
	}
	return c, c.validate()
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// parseSize reads an int (shortest edge, or a square for crops, as
// transformers' get_size_dict does) or an object.
func parseSize(v json.RawMessage, square bool) (Size, error) {
	var n int
	if err := json.Unmarshal(v, &n); err == nil {
		if square {
			return Size{Height: n, Width: n}, nil
		}
		return Size{ShortestEdge: n}, nil
	}
	var s Size
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Size{}, err
	}
	return s, nil
}

// outSize is the final [H, W] the configuration produces, or 0s when it
// depends on the image (no crop and a shortest-edge resize).
func (c *Config) outSize() (h, w int) {
	switch {
	case c.DoCenterCrop:
		return c.CropSize.Height, c.CropSize.Width
	case c.DoResize && c.Size.ShortestEdge == 0:
		return c.Size.Height, c.Size.Width
	}
	return 0, 0
}

func (c *Config) validate() error {
	if c.NaFlex {
		if err := c.validateNaFlex(); err != nil {
			return err
		}
		return c.validateNormalize()
	}
	if c.PatchSize != 0 || c.MaxNumPatches != 0 {
		return &ConfigError{"patch_size", "patch_size and max_num_patches are Siglip2ImageProcessor fields (image_processor_type is not Siglip2ImageProcessor)"}
	}
	if c.DoResize {
		s := c.Size
		switch {
		case s.LongestEdge != 0:
			return &ConfigError{"size", "longest_edge is not supported"}
		case s.ShortestEdge < 0 || s.Height < 0 || s.Width < 0:
			return &ConfigError{"size", "negative size"}
		case s.ShortestEdge > 0 && (s.Height != 0 || s.Width != 0):
			return &ConfigError{"size", "both shortest_edge and height/width given"}
		case s.ShortestEdge == 0 && (s.Height == 0 || s.Width == 0):
			return &ConfigError{"size", "needs shortest_edge or height and width"}
		case max(s.ShortestEdge, s.Height, s.Width) > 8192:
			return &ConfigError{"size", "larger than 8192"}
		}
		if c.Resample != ResampleBicubic {
			return &ConfigError{"resample", fmt.Sprintf("%d is not supported (only 3, bicubic)", c.Resample)}
		}
	}
	if c.DoCenterCrop {
		s := c.CropSize
		if s.Height <= 0 || s.Width <= 0 || s.ShortestEdge != 0 || s.LongestEdge != 0 {
			return &ConfigError{"crop_size", "needs positive height and width"}
		}
		if max(s.Height, s.Width) > 8192 {
			return &ConfigError{"crop_size", "larger than 8192"}
		}
	}
	h, w := c.outSize()
	if h == 0 || h != w {
		return &ConfigError{"crop_size", fmt.Sprintf("output is not a fixed square (%dx%d): the model needs [3,S,S]", h, w)}
	}
	return c.validateNormalize()
}

// MaxNaFlexPatches bounds max_num_patches.
const MaxNaFlexPatches = 1 << 14

func (c *Config) validateNaFlex() error {
	switch {
	case !c.DoResize:
		return &ConfigError{"do_resize", "false is not supported for Siglip2ImageProcessor (each image is resized to its patch grid)"}
	case c.Resample != ResampleBilinear && c.Resample != ResampleBicubic:
		return &ConfigError{"resample", fmt.Sprintf("%d is not supported (2, bilinear, or 3, bicubic)", c.Resample)}
	case c.DoCenterCrop:
		return &ConfigError{"do_center_crop", "Siglip2ImageProcessor does not crop"}
	case c.PatchSize < 1 || c.PatchSize > 256:
		return &ConfigError{"patch_size", fmt.Sprintf("%d must be in [1,256]", c.PatchSize)}
	case c.MaxNumPatches < 1 || c.MaxNumPatches > MaxNaFlexPatches:
		return &ConfigError{"max_num_patches", fmt.Sprintf("%d must be in [1,%d]", c.MaxNumPatches, MaxNaFlexPatches)}
	}
	return nil
}

func (c *Config) validateNormalize() error {
	if c.DoRescale && !(c.RescaleFactor > 0) {
		return &ConfigError{"rescale_factor", "must be positive"}
	}
	if c.DoNormalize {
		if len(c.ImageMean) != 3 || len(c.ImageStd) != 3 {
			return &ConfigError{"image_mean", "image_mean and image_std need 3 values"}
		}
		for _, s := range c.ImageStd {
			if !(s > 0) {
				return &ConfigError{"image_std", "must be positive"}
			}
		}
	}
	return nil
}
