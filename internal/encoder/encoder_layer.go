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
	if l.attn, err = loadAttention(st, prefix+"self_attn.", c, c.smoothed(l.ln1Weight, l.ln1Bias)); err != nil {
		return nil, err
	}
	if l.ln2Weight, l.ln2Bias, err = LoadLayerNorm(st, prefix+"layer_norm2", c.Width); err != nil {
		return nil, err
	}
	if l.mlp, err = loadMLP(st, prefix+"mlp.", c, c.smoothed(l.ln2Weight, l.ln2Bias)); err != nil {
		return nil, err
	}
	return &l, nil
}

// forward updates x [rows, width] in place; seqs group the rows into
// sequences for attention and must compute every row once. Each residual
// add is fused into the product that produces it (out_proj, fc2).
func (l *Layer) forward(x []float32, rows int, seqs []tensor.AttnSeq, s *scratch, c *Config) {
	n := rows * c.Width
	h := s.h[:n]
	tensor.LayerNorm(c.Workers, h, x, l.ln1Weight, l.ln1Bias, rows, c.Width, c.Eps)
	l.attn.forward(x[:n], h, s.qkv[:3*n], s.ctx[:n], rows, rows, seqs, c)
	tensor.LayerNorm(c.Workers, h, x, l.ln2Weight, l.ln2Bias, rows, c.Width, c.Eps)
	l.mlp.Forward(c.Workers, x[:n], h, s.mid[:rows*c.Intermediate], rows, c.Act)
}

// forwardPooled runs the layer for one token of each of pooled (Q1 =
// Q0+1, Out = its index) only, the last layer when only pooled outputs
// are wanted: x holds every row [rows, width], out receives the updated
// rows [len(pooled), width]. Each output row equals the corresponding row
// of forward: attention reads the keys and values of all rows, everything
// after it is row-wise.
func (l *Layer) forwardPooled(out, x []float32, rows int, pooled []tensor.AttnSeq, s *scratch, c *Config) {
	n, w, ns := rows*c.Width, c.Width, len(pooled)
	h := s.h[:n]
	tensor.LayerNorm(c.Workers, h, x, l.ln1Weight, l.ln1Bias, rows, w, c.Eps)
	for i := range pooled {
		row := pooled[i].Row(pooled[i].Q0)
		copy(out[i*w:(i+1)*w], x[row*w:(row+1)*w])
	}
	l.attn.forward(out[:ns*w], h, s.qkv[:3*n], s.ctx[:ns*w], rows, ns, pooled, c)
	tensor.LayerNorm(c.Workers, h[:ns*w], out, l.ln2Weight, l.ln2Bias, ns, w, c.Eps)
	l.mlp.Forward(c.Workers, out[:ns*w], h[:ns*w], s.mid[:ns*c.Intermediate], ns, c.Act)
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

// smoothed returns the weight format of a product whose input is the
// layer norm (weight, bias): for Int8, smoothed by the layer norm's range
// |weight|+|bias| per channel, which is where real CLIP checkpoints have
// their outlier channels (see tensor.LinearOptions.InputRange).
func (c *Config) smoothed(weight, bias []float32) *tensor.LinearOptions {
	o := c.Linear
	if o.Precision != tensor.Int8 || o.InputRange != nil {
		return &o
	}
	o.InputRange = make([]float32, len(weight))
	for i := range weight {
		o.InputRange[i] = abs32(weight[i]) + abs32(bias[i])
	}
	return &o
}

func abs32(v float32) float32 { return max(v, -v) }
