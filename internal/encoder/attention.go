package encoder

import (
	"fmt"

	"github.com/goclip/goclip/tensor"
)

// Attention is CLIPAttention: multi-head self-attention with the query, key
// and value projections fused into one Linear at load time.
type Attention struct {
	qkv *tensor.Linear // weight [3·width, width] = q_proj ‖ k_proj ‖ v_proj, bias [3·width]
	out *tensor.Linear // out_proj: weight [width, width], bias [width]
}

// loadAttention reads prefix+"q_proj.weight" etc. and packs Q, K and V
// into one fused Linear (owned by the Attention; the Store is not written).
func loadAttention(st tensor.Store, prefix string, c *Config, qkvOpts *tensor.LinearOptions) (*Attention, error) {
	width := c.Width
	// Read all three first, so that a config that disagrees with the file
	// fails on the shape check before anything is allocated.
	var ws, bs [3][]float32
	for i, p := range []string{"q_proj", "k_proj", "v_proj"} {
		var err error
		if ws[i], err = Tensor(st, prefix+p+".weight", width, width); err != nil {
			return nil, err
		}
		if bs[i], err = Tensor(st, prefix+p+".bias", width); err != nil {
			return nil, err
		}
	}
	qkv, err := tensor.NewLinearOpts(c.Workers, ws[:], bs[:], 3*width, width, qkvOpts)
	if err != nil {
		return nil, fmt.Errorf("%sqkv: %w", prefix, err)
	}
	out, err := loadLinear(st, prefix+"out_proj", width, width, c.Workers, &c.Linear)
	if err != nil {
		return nil, err
	}
	return &Attention{qkv: qkv, out: out}, nil
}

// forward adds out_proj(attention(x)) to dst (the residual connection
// fused into the out_proj product). x [rows, width] holds every row, qkv
// is scratch [rows, 3·width]; seqs say which rows form each sequence and
// which outputs to compute (tensor.AttentionSeqs): dst and ctx have
// outRows rows.
func (a *Attention) forward(dst, x, qkv, ctxBuf []float32, rows, outRows int, seqs []tensor.AttnSeq, c *Config) {
	a.qkv.Forward(c.Workers, qkv, x, rows, tensor.ActNone)
	tensor.AttentionSeqs(c.Workers, ctxBuf, qkv, seqs, c.Heads, c.Width/c.Heads, c.Causal)
	a.out.ForwardAdd(c.Workers, dst, ctxBuf, outRows)
}

// LoadLinear reads prefix.weight [out,in] and prefix.bias [out] and packs
// them (float32) on up to wk.N() goroutines.
func LoadLinear(st tensor.Store, prefix string, out, in int, wk *tensor.Workers) (*tensor.Linear, error) {
	return loadLinear(st, prefix, out, in, wk, nil)
}

// loadLinear is LoadLinear in the number format of opts (nil: float32).
func loadLinear(st tensor.Store, prefix string, out, in int, wk *tensor.Workers, opts *tensor.LinearOptions) (*tensor.Linear, error) {
	w, err := Tensor(st, prefix+".weight", out, in)
	if err != nil {
		return nil, err
	}
	b, err := Tensor(st, prefix+".bias", out)
	if err != nil {
		return nil, err
	}
	l, err := tensor.NewLinearOpts(wk, [][]float32{w}, [][]float32{b}, out, in, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	return l, nil
}
