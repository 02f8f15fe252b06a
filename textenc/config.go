// Package textenc is CLIP's text transformer (transformers'
// CLIPTextTransformer): token and position embeddings, a causal encoder,
// final_layer_norm, and pooling at the end-of-text token. The projection to
// the joint embedding lives in clip.
package textenc

import (
	"fmt"

	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/tensor"
)

// Config is CLIPTextConfig with its HF JSON field names.
type Config struct {
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	IntermediateSize      int     `json:"intermediate_size"`
	ProjectionDim         int     `json:"projection_dim"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	HiddenAct             string  `json:"hidden_act"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	PadTokenID            int     `json:"pad_token_id"`
	BOSTokenID            int     `json:"bos_token_id"`
	// EOSTokenID selects the pooling rule: 2 (the 2021 openai configs)
	// means the legacy rule, the position of the highest token id;
	// otherwise the first position holding EOSTokenID.
	EOSTokenID int `json:"eos_token_id"`
	// ProjectionSize is SigLIP's projection_size, the output width of the
	// text head (0 means hidden_size).
	ProjectionSize int `json:"projection_size"`
	// Pooling overrides the pooled position (set by the model loader for
	// OpenCLIP's text_pool_type, not read from the JSON): "" follows
	// EOSTokenID as above, "argmax" the first position of the highest id,
	// "eos" the first position holding EOSTokenID, "last" the last
	// position of the sequence as given (padded to the context length).
	Pooling string `json:"-"`
	// SigLIP selects SiglipTextTransformer: no causal mask and no
	// attention mask, pooling at the last position, a Linear head. It is
	// set by the model loader from model_type, not read from the JSON.
	SigLIP bool `json:"-"`
	// Weights is the number format the encoder's linear layers are packed
	// in at load (not part of config.json; zero value: float32).
	Weights tensor.LinearOptions `json:"-"`
}

// DefaultConfig returns transformers' CLIPTextConfig defaults, which fill
// the fields a config.json omits.
func DefaultConfig() Config {
	return Config{
		VocabSize:             49408,
		HiddenSize:            512,
		IntermediateSize:      2048,
		ProjectionDim:         512,
		NumHiddenLayers:       12,
		NumAttentionHeads:     8,
		MaxPositionEmbeddings: 77,
		HiddenAct:             "quick_gelu",
		LayerNormEps:          1e-5,
		PadTokenID:            1,
		BOSTokenID:            49406,
		EOSTokenID:            49407,
	}
}

// DefaultSigLIPConfig returns transformers' SiglipTextConfig defaults
// (SigLIP B/16: 64 positions, vocab 32,000).
func DefaultSigLIPConfig() Config {
	c := DefaultConfig()
	c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumAttentionHeads = 32000, 768, 3072, 12
	c.MaxPositionEmbeddings, c.HiddenAct, c.LayerNormEps = 64, "gelu_pytorch_tanh", 1e-6
	c.ProjectionDim, c.SigLIP = 0, true
	return c
}

// HeadSize is the width of the pooled output: SigLIP's projection_size
// (hidden_size when 0), CLIP's hidden_size.
func (c *Config) HeadSize() int {
	if c.SigLIP && c.ProjectionSize > 0 {
		return c.ProjectionSize
	}
	return c.HiddenSize
}

// maxVocab bounds vocab_size (CLIP's is 49,408; multilingual ones about
// 250,000), so that tensor sizes computed from the config cannot overflow.
const maxVocab = 1 << 24

// Validate reports a malformed config, naming the field.
func (c *Config) Validate() error {
	if _, err := c.encoderConfig(); err != nil {
		return fmt.Errorf("text_config: %w", err)
	}
	switch {
	case c.VocabSize <= 0 || c.VocabSize > maxVocab:
		return fmt.Errorf("text_config: vocab_size %d must be in [1,%d]", c.VocabSize, maxVocab)
	case c.MaxPositionEmbeddings <= 0 || c.MaxPositionEmbeddings > encoder.MaxDim:
		return fmt.Errorf("text_config: max_position_embeddings %d must be in [1,%d]", c.MaxPositionEmbeddings, encoder.MaxDim)
	case c.Pooling != "" && c.Pooling != "argmax" && c.Pooling != "eos" && c.Pooling != "last":
		return fmt.Errorf("text_config: pooling %q is not supported (want argmax, eos or last)", c.Pooling)
	case c.ProjectionSize < 0 || c.ProjectionSize > encoder.MaxDim:
		return fmt.Errorf("text_config: projection_size %d must be in [0,%d]", c.ProjectionSize, encoder.MaxDim)
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
		Causal:       !c.SigLIP,
	}.WithAct(c.HiddenAct)
}
