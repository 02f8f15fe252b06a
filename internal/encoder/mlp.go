package encoder

import "github.com/goclip/goclip/tensor"

// MLP is CLIPMLP: fc2(act(fc1(x))).
type MLP struct {
	fc1 *tensor.Linear // weight [intermediate, width], bias [intermediate]
	fc2 *tensor.Linear // weight [width, intermediate], bias [width]
}

// LoadMLP reads prefix+"fc1" [intermediate, width] and prefix+"fc2"
// [width, intermediate] (weights and biases), in the format c.Linear.
func LoadMLP(st tensor.Store, prefix string, c *Config) (*MLP, error) {
	return loadMLP(st, prefix, c, &c.Linear)
}

// loadMLP is LoadMLP with fc1 in the format fc1Opts (smoothed by the layer
// norm in front).
func loadMLP(st tensor.Store, prefix string, c *Config, fc1Opts *tensor.LinearOptions) (*MLP, error) {
	fc1, err := loadLinear(st, prefix+"fc1", c.Intermediate, c.Width, c.Workers, fc1Opts)
	if err != nil {
		return nil, err
	}
	fc2, err := loadLinear(st, prefix+"fc2", c.Width, c.Intermediate, c.Workers, &c.Linear)
	if err != nil {
		return nil, err
	}
	return &MLP{fc1: fc1, fc2: fc2}, nil
}

// Forward adds fc2(act(fc1(x))) to dst [rows,width] (the residual
// connection fused into fc2); mid is scratch [rows, intermediate].
func (m *MLP) Forward(wk *tensor.Workers, dst, x, mid []float32, rows int, act tensor.Activation) {
	m.fc1.Forward(wk, mid, x, rows, act)
	m.fc2.ForwardAdd(wk, dst, mid, rows)
}
