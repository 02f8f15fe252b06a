package encoder

import (
	"fmt"

	"github.com/goclip/goclip/tensor"
)

// Layer is CLIPEncoderLayer, a pre-norm residual block:
//
//	x = x + self_attn(layer_norm1(x))
//	x = x + mlp(layer_norm2(x))
type Layer struct {
	ln1Weight, ln1Bias []float32 // layer_norm1: [width], [width]
	attn               *Attention
	ln2Weight, ln2Bias []float32 // layer_norm2: [width], [width]
	mlp                *MLP
}

func loadLayer(st tensor.Store, prefix string, c *Config) (*Layer, error) {
	var l Layer
	var err error
	if l.ln1Weight, l.ln1Bias, err = LoadLayerNorm(st, prefix+"layer_norm1", c.Width); err != nil {
		return nil, err
	}
	if l.attn, err = loadAttention(st, prefix+"self_attn.", c.Width); err != nil {
		return nil, err
	}
	if l.ln2Weight, l.ln2Bias, err = LoadLayerNorm(st, prefix+"layer_norm2", c.Width); err != nil {
		return nil, err
	}
	if l.mlp, err = loadMLP(st, prefix+"mlp.", c); err != nil {
		return nil, err
	}
	return &l, nil
}

// forward updates x [rows, width] in place.
func (l *Layer) forward(x []float32, lens []int, s *scratch, c *Config) {
	rows := sum(lens)
	n := rows * c.Width
	h, o := s.h[:n], s.o[:n]
	tensor.LayerNorm(h, x, l.ln1Weight, l.ln1Bias, rows, c.Width, c.Eps)
	l.attn.forward(o, h, s.qkv[:3*n], s.ctx[:n], lens, c)
	tensor.AddTo(x[:n], o)
	tensor.LayerNorm(h, x, l.ln2Weight, l.ln2Bias, rows, c.Width, c.Eps)
	l.mlp.forward(o, h, s.mid[:rows*c.Intermediate], rows, c.Act)
	tensor.AddTo(x[:n], o)
}

// LoadLayerNorm reads prefix.weight and prefix.bias, both [width].
func LoadLayerNorm(st tensor.Store, prefix string, width int) (gamma, beta []float32, err error) {
	if gamma, err = Tensor(st, prefix+".weight", width); err != nil {
		return nil, nil, err
	}
	if beta, err = Tensor(st, prefix+".bias", width); err != nil {
		return nil, nil, err
	}
	if len(gamma) != width || len(beta) != width {
		return nil, nil, fmt.Errorf("%s: store returned wrong sizes", prefix)
	}
	return gamma, beta, nil
}
