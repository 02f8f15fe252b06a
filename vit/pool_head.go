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
	h := &poolHead{heads: c.NumAttentionHeads, eps: ec.Eps, act: ec.Act, wk: ec.Workers}
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

// forward pools n images x [n·tokens, width] (after post_layernorm) into
// dst [n, width]. kv is scratch [n·tokens, 2·width], ctx [n, width], mid
// [n, intermediate].
func (h *poolHead) forward(dst, x, kv, ctx, mid []float32, n, tokens, w int) {
	h.kv.Forward(h.wk, kv, x, n*tokens, tensor.ActNone)
	hd := w / h.heads
	scale := 1 / math.Sqrt(float64(hd))
	h.wk.Parallel(n*h.heads, func(job int) {
		i, hh := job/h.heads, job%h.heads
		img := kv[i*tokens*2*w : (i+1)*tokens*2*w]
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
		c := ctx[i*w+hh*hd : i*w+(hh+1)*hd]
		for j, o := range out {
			c[j] = float32(o / sum)
		}
	})
	h.out.Forward(h.wk, dst[:n*w], ctx[:n*w], n, tensor.ActNone)
	tensor.LayerNorm(ctx[:n*w], dst[:n*w], h.lnWeight, h.lnBias, n, w, h.eps)
	h.mlp.Forward(h.wk, dst[:n*w], ctx[:n*w], mid, n, h.act)
}
