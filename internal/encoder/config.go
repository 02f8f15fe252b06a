// Package encoder holds the pre-norm transformer encoder shared by CLIP's
// vision and text towers (transformers' CLIPEncoder / CLIPEncoderLayer).
// The two towers differ only in the causal mask of the text tower.
//
// Activations are packed: a batch of sequences of possibly different lengths
// is one row-major buffer [sum of lengths, width], so every Linear runs on
// all rows of the batch at once and attention runs per sequence.
package encoder

import (
	"fmt"

	"github.com/goclip/goclip/tensor"
)

// Config is the shape of an encoder, taken from the tower's HF config.
type Config struct {
	Width        int               // hidden_size
	Heads        int               // num_attention_heads
	Intermediate int               // intermediate_size
	Layers       int               // num_hidden_layers
	Act          tensor.Activation // hidden_act
	Eps          float32           // layer_norm_eps
	Causal       bool              // text tower: token i attends to 0…i

	// Workers is the goroutine budget of the encoder's products and
	// attention (nil: the calling goroutine only). Not part of the shape.
	Workers *tensor.Workers
	// Linear is the number format of the layers' weights (q, k, v, out,
	// fc1, fc2); the zero value is float32. Layer norms, attention, the
	// activation and the residual sums are float32 in every format.
	Linear tensor.LinearOptions
}

// Bounds on config sizes, far above any published CLIP (ViT-bigG/14:
// width 1664, intermediate 8192, 48 layers) and low enough that a
// malformed config.json is rejected before anything is sized by it.
const (
	MaxDim    = 1 << 16 // hidden_size, intermediate_size
	MaxLayers = 1 << 10 // num_hidden_layers
)

// Validate reports an inconsistent or absurdly large shape.
func (c Config) Validate() error {
	switch {
	case c.Width <= 0 || c.Width > MaxDim:
		return fmt.Errorf("hidden_size %d must be in [1,%d]", c.Width, MaxDim)
	case c.Heads <= 0 || c.Width%c.Heads != 0:
		return fmt.Errorf("num_attention_heads %d must be positive and divide hidden_size %d", c.Heads, c.Width)
	case c.Intermediate <= 0 || c.Intermediate > MaxDim:
		return fmt.Errorf("intermediate_size %d must be in [1,%d]", c.Intermediate, MaxDim)
	case c.Layers < 0 || c.Layers > MaxLayers:
		return fmt.Errorf("num_hidden_layers %d must be in [0,%d]", c.Layers, MaxLayers)
	case !(c.Eps > 0):
		return fmt.Errorf("layer_norm_eps %g must be positive", c.Eps)
	}
	return nil
}

// WithAct returns c with Act set from an HF hidden_act name, validated:
// the towers build their encoder config with it.
func (c Config) WithAct(hiddenAct string) (Config, error) {
	act, err := ParseAct(hiddenAct)
	if err != nil {
		return Config{}, err
	}
	c.Act = act
	return c, c.Validate()
}

// ParseAct maps an HF hidden_act name to a tensor activation.
func ParseAct(name string) (tensor.Activation, error) {
	switch name {
	case "quick_gelu":
		return tensor.ActQuickGELU, nil
	case "gelu":
		return tensor.ActGELU, nil
	case "gelu_pytorch_tanh", "gelu_new": // the same tanh approximation in transformers
		return tensor.ActGELUTanh, nil
	}
	return 0, fmt.Errorf("hidden_act %q is not supported (want quick_gelu, gelu or gelu_pytorch_tanh)", name)
}

// Tensor reads name from st and checks that the store returned as many
// values as shape holds (tensor.Store implementations check the stored
// shape; this guards against one that returns a short slice).
func Tensor(st tensor.Store, name string, shape ...int) ([]float32, error) {
	v, err := st.Tensor(name, shape...)
	if err != nil {
		return nil, err
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	if len(v) != n {
		return nil, fmt.Errorf("tensor %q: store returned %d values for shape %v", name, len(v), shape)
	}
	return v, nil
}
