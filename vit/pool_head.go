package vit

import (
	"fmt"
	"math"

	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/tensor"
)

// poolHead is SiglipMultiheadAttentionPoolingHead: a learned probe attends
// to every token (torch.nn.MultiheadAttention), then a pre-norm residual
// MLP:
//
//	h = out_proj(attention(q = probe, k = v = tokens))
//	y = h + mlp(layernorm(h))
//
// The probe's query projection does not depend on the image, so it is
// computed once at load.
type poolHead struct {
	query    []float32      // in_proj(probe)[:width]: probe [1,1,width] through in_proj rows 0…width-1
	kv       *tensor.Linear // attention.in_proj_weight rows width…3·width-1 [2·width, width], in_proj_bias [2·width]
	out      *tensor.Linear // attention.out_proj: weight [width, width], bias [width]
	lnWeight []float32      // layernorm.weight [width]
	lnBias   []float32      // layernorm.bias [width]
	mlp      *encoder.MLP   // mlp.fc1 [intermediate, width], mlp.fc2 [width, intermediate]
	heads    int
	inter    int // intermediate size of the MLP
	eps      float32
	act      tensor.Activation
	wk       *tensor.Workers
}

func loadPoolHead(st tensor.Store, prefix string, c *Config, ec *encoder.Config) (*poolHead, error) {
	w := c.HiddenSize
	probe, err := encoder.Tensor(st, prefix+"probe", 1, 1, w)
	if err != nil {
		return nil, err
	}
	inW, err := encoder.Tensor(st, prefix+"attention.in_proj_weight", 3*w, w)
	if err != nil {
		return nil, err
	}
	inB, err := encoder.Tensor(st, prefix+"attention.in_proj_bias", 3*w)
	if err != nil {
		return nil, err
	}
	h := &poolHead{heads: c.NumAttentionHeads, inter: c.IntermediateSize, eps: ec.Eps, act: ec.Act, wk: ec.Workers}
	q, err := tensor.NewLinear(h.wk, inW[:w*w], inB[:w], w, w)
	if err != nil {
		return nil, fmt.Errorf("%sattention: %w", prefix, err)
	}
	h.query = make([]float32, w)
	q.Forward(h.wk, h.query, probe, 1, tensor.ActNone)
	if h.kv, err = tensor.NewLinear(h.wk, inW[w*w:], inB[w:], 2*w, w); err != nil {
		return nil, fmt.Errorf("%sattention: %w", prefix, err)
	}
	if h.out, err = encoder.LoadLinear(st, prefix+"attention.out_proj", w, w, h.wk); err != nil {
		return nil, err
	}
	if h.lnWeight, h.lnBias, err = encoder.LoadLayerNorm(st, prefix+"layernorm", w); err != nil {
		return nil, err
	}
	if h.mlp, err = encoder.LoadMLP(st, prefix+"mlp.", ec); err != nil {
		return nil, err
	}
	return h, nil
}

// forward pools images x [sum(lens), width] (after post_layernorm; image
// i is lens[i] consecutive rows) into dst [len(lens), width]. kv is
// scratch [sum(lens), 2·width], ctx [n, width], mid [n, intermediate]
// (nil: allocated).
func (h *poolHead) forward(dst, x []float32, lens []int, kv, ctx, mid []float32) {
	n, w, rows := len(lens), len(h.query), 0
	offs := make([]int, n)
	for i, l := range lens {
		offs[i] = rows
		rows += l
	}
	kv = encoder.Grow(kv, rows*2*w)
	ctx = encoder.Grow(ctx, n*w)
	mid = encoder.Grow(mid, n*h.inter)
	h.kv.Forward(h.wk, kv, x, rows, tensor.ActNone)
	h.wk.Parallel(n*h.heads, func(job int) {
		i, hh := job/h.heads, job%h.heads
		h.attend(ctx[i*w:(i+1)*w], kv[offs[i]*2*w:(offs[i]+lens[i])*2*w], hh)
	})
	h.out.Forward(h.wk, dst[:n*w], ctx[:n*w], n, tensor.ActNone)
	tensor.LayerNorm(h.wk, ctx[:n*w], dst[:n*w], h.lnWeight, h.lnBias, n, w, h.eps)
	h.mlp.Forward(h.wk, dst[:n*w], ctx[:n*w], mid, n, h.act)
}

// attend writes head hh of the probe's attention over one image's keys
// and values img [tokens, 2·width] to ctx [width] (softmax and sums in
// float64).
func (h *poolHead) attend(ctx, img []float32, hh int) {
	w := len(h.query)
	hd := w / h.heads
	tokens := len(img) / (2 * w)
	scale := 1 / math.Sqrt(float64(hd))
	q := h.query[hh*hd : (hh+1)*hd]
	scores := make([]float64, tokens)
	top := math.Inf(-1)
	for t := range scores {
		k := img[t*2*w+hh*hd : t*2*w+(hh+1)*hd]
		var s float64
		for j, qv := range q {
			s += float64(qv) * float64(k[j])
		}
		scores[t] = s * scale
		top = max(top, scores[t])
	}
	var sum float64
	for t, s := range scores {
		scores[t] = math.Exp(s - top)
		sum += scores[t]
	}
	var acc [256]float64
	var out []float64
	if hd <= len(acc) {
		out = acc[:hd]
	} else {
		out = make([]float64, hd)
	}
	for t, p := range scores {
		v := img[t*2*w+w+hh*hd : t*2*w+w+(hh+1)*hd]
		for j, vv := range v {
			out[j] += p * float64(vv)
		}
	}
	c := ctx[hh*hd : (hh+1)*hd]
	for j, o := range out {
		c[j] = float32(o / sum)
	}
}
