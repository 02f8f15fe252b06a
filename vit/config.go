// Package vit is CLIP's vision transformer (transformers' CLIPVisionTransformer):
// patch and position embeddings, pre_layrnorm, the encoder, and post_layernorm
// on the class token. The projection to the joint embedding lives in clip.
//
// With Config.SigLIP it is SigLIP's (SiglipVisionTransformer): no class
// token and no pre-layernorm, a patch-embedding bias, post_layernorm on
// every token and the multihead attention pooling head, whose output is
// the image embedding.
package vit

import (
	"fmt"

	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/tensor"
)

// Config is CLIPVisionConfig with its HF JSON field names.
type Config struct {
	HiddenSize        int     `json:"hidden_size"`
	IntermediateSize  int     `json:"intermediate_size"`
	ProjectionDim     int     `json:"projection_dim"`
	NumHiddenLayers   int     `json:"num_hidden_layers"`
	NumAttentionHeads int     `json:"num_attention_heads"`
	NumChannels       int     `json:"num_channels"`
	ImageSize         int     `json:"image_size"`
	PatchSize         int     `json:"patch_size"`
	HiddenAct         string  `json:"hidden_act"`
	LayerNormEps      float64 `json:"layer_norm_eps"`
	// VisionUseHead is SigLIP's vision_use_head (nil means true; false
	// is refused: the head's output is the image embedding).
	VisionUseHead *bool `json:"vision_use_head"`
	// NumPatches is SigLIP 2 NaFlex's num_patches: the position
	// embeddings form a square grid of this many entries, resized to each
	// image's patch grid (Siglip2VisionConfig; NaFlex only).
	NumPatches int `json:"num_patches"`
	// NaFlex selects Siglip2VisionTransformer (model_type "siglip2"):
	// SigLIP's tower over a variable grid of patches, embedded by a Linear
	// over flattened patches, with position embeddings resized per image.
	// Set by the model loader, not read from the JSON; implies SigLIP.
	NaFlex bool `json:"-"`
	// NoPreLayerNorm drops pre_layrnorm (OpenCLIP's no_ln_pre). Set by
	// the model loader, not read from the JSON.
	NoPreLayerNorm bool `json:"-"`
	// SigLIP selects SiglipVisionTransformer. It is set by the model
	// loader from model_type, not read from the tower's JSON.
	SigLIP bool `json:"-"`
	// Weights is the number format the encoder's linear layers are packed
	// in at load (not part of config.json; zero value: float32).
	Weights tensor.LinearOptions `json:"-"`
}

// DefaultConfig returns transformers' CLIPVisionConfig defaults (ViT-B/32),
// which fill the fields a config.json omits.
func DefaultConfig() Config {
	return Config{
		HiddenSize:        768,
		IntermediateSize:  3072,
		ProjectionDim:     512,
		NumHiddenLayers:   12,
		NumAttentionHeads: 12,
		NumChannels:       3,
		ImageSize:         224,
		PatchSize:         32,
		HiddenAct:         "quick_gelu",
		LayerNormEps:      1e-5,
	}
}

// DefaultSigLIPConfig returns transformers' SiglipVisionConfig defaults
// (SigLIP B/16 at 224 px).
func DefaultSigLIPConfig() Config {
	c := DefaultConfig()
	c.PatchSize, c.HiddenAct, c.LayerNormEps, c.SigLIP = 16, "gelu_pytorch_tanh", 1e-6, true
	return c
}

// DefaultNaFlexConfig returns transformers' Siglip2VisionConfig defaults
// (google/siglip2-base-patch16-naflex: 256 position embeddings, a 16×16
// grid, patches of 16).
func DefaultNaFlexConfig() Config {
	c := DefaultSigLIPConfig()
	c.ImageSize, c.NumPatches, c.NaFlex = 0, 256, true
	return c
}

// Grid is the number of patches along one side (a remainder of the image
// is not covered, as in the convolution); NaFlex: the side of the
// position-embedding grid.
func (c *Config) Grid() int {
	if c.NaFlex {
		return intSqrt(c.NumPatches)
	}
	return c.ImageSize / c.PatchSize
}

// intSqrt is int(n**0.5) for the small n of a config.
func intSqrt(n int) int {
	r := 0
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}

// PatchDim is the number of values of one flattened patch
// (channels·P·P).
func (c *Config) PatchDim() int { return c.NumChannels * c.PatchSize * c.PatchSize }

// Tokens is the sequence length: the class token (not in SigLIP) and one
// per patch. For NaFlex it is the number of position embeddings
// (num_patches); an image's own length is its patch count.
func (c *Config) Tokens() int {
	if c.NaFlex {
		return c.NumPatches
	}
	if c.SigLIP {
		return c.Grid() * c.Grid()
	}
	return c.Grid()*c.Grid() + 1
}

// Validate reports a malformed config, naming the field.
func (c *Config) Validate() error {
	if _, err := c.encoderConfig(); err != nil {
		return fmt.Errorf("vision_config: %w", err)
	}
	if c.NaFlex {
		return c.validateNaFlex()
	}
	switch {
	case c.NumPatches != 0:
		return fmt.Errorf("vision_config: num_patches is a SigLIP 2 NaFlex field (model_type is not siglip2)")
	case c.NumChannels <= 0 || c.NumChannels > 64:
		return fmt.Errorf("vision_config: num_channels %d must be in [1,64]", c.NumChannels)
	case c.PatchSize <= 0:
		return fmt.Errorf("vision_config: patch_size %d must be positive", c.PatchSize)
	case c.ImageSize < c.PatchSize:
		// A remainder is dropped, as the stride-P convolution without
		// padding does (SigLIP so400m-patch14-384: 384 = 27·14 + 6).
		return fmt.Errorf("vision_config: image_size %d must be at least patch_size %d", c.ImageSize, c.PatchSize)
	case c.ImageSize > 4096:
		return fmt.Errorf("vision_config: image_size %d is unreasonably large", c.ImageSize)
	case c.VisionUseHead != nil && !*c.VisionUseHead:
		return fmt.Errorf("vision_config: vision_use_head false is not supported (the pooling head gives the image embedding)")
	case c.VisionUseHead != nil && !c.SigLIP:
		return fmt.Errorf("vision_config: vision_use_head is a SigLIP field (model_type is not siglip)")
	}
	return nil
}

func (c *Config) encoderConfig() (encoder.Config, error) {
	return encoder.Config{
		Width:        c.HiddenSize,
		Heads:        c.NumAttentionHeads,
		Intermediate: c.IntermediateSize,
		Layers:       c.NumHiddenLayers,
		Eps:          float32(c.LayerNormEps),
		Linear:       c.Weights,
	}.WithAct(c.HiddenAct)
}

// MaxNaFlexPatches bounds num_patches and the patches of one image.
const MaxNaFlexPatches = 1 << 14

func (c *Config) validateNaFlex() error {
	g := c.Grid()
	switch {
	case !c.SigLIP:
		return fmt.Errorf("vision_config: a NaFlex tower is a SigLIP tower")
	case c.NumChannels <= 0 || c.NumChannels > 64:
		return fmt.Errorf("vision_config: num_channels %d must be in [1,64]", c.NumChannels)
	case c.PatchSize <= 0 || c.PatchSize > 256:
		return fmt.Errorf("vision_config: patch_size %d must be in [1,256]", c.PatchSize)
	case c.NumPatches <= 0 || c.NumPatches > MaxNaFlexPatches:
		return fmt.Errorf("vision_config: num_patches %d must be in [1,%d]", c.NumPatches, MaxNaFlexPatches)
	case g*g != c.NumPatches:
		// transformers reshapes the embeddings to int(num_patches**0.5)
		// squared, which fails for any other count.
		return fmt.Errorf("vision_config: num_patches %d is not a square (the position embeddings are a square grid)", c.NumPatches)
	case c.VisionUseHead != nil && !*c.VisionUseHead:
		return fmt.Errorf("vision_config: vision_use_head false is not supported (the pooling head gives the image embedding)")
	}
	return nil
}
