package tensor

import (
	"math"
	"sync"
)

// Attention computes multi-head scaled dot-product attention for one
// sequence of tokens: for every head h,
//
//	dst_h = softmax(q_h·k_hᵀ/√headDim + mask)·v_h
//
// q, k and v hold rows of stride values each (so they may be column slices
// of one fused QKV buffer [tokens, 3·heads·headDim]); head h occupies
// columns h·headDim … (h+1)·headDim-1 of each row. dst is [tokens,
// heads·headDim], dense. With causal, token i attends to tokens 0…i only
// (CLIP's text tower).
//
// Heads run in parallel (see maxWorkers); each materialises one
// tokens×tokens score block, and both products run on the GEMM kernels.
// A call allocates nothing in steady state.
func Attention(dst, q, k, v []float32, tokens, heads, headDim, stride int, causal bool) {
	if tokens == 0 || heads == 0 || headDim == 0 {
		return
	}
	width := heads * headDim
	last := (tokens-1)*stride + width - 1
	_, _, _, _ = q[last], k[last], v[last], dst[tokens*width-1]
	c := attnCalls.Get().(*attnCall)
	c.attnArgs = attnArgs{dst: dst, q: q, k: k, v: v, tokens: tokens, headDim: headDim,
		stride: stride, width: width, causal: causal, s: simd}
	if flops := 4 * tokens * tokens * width; flops < parallelMinFlops || maxWorkers == 1 {
		for h := range heads {
			c.head(h)
		}
	} else {
		c.r.run(heads)
	}
	c.attnArgs = attnArgs{}
	attnCalls.Put(c)
}

// attnCall is one Attention call; pooled so a call allocates nothing.
type attnCall struct {
	attnArgs
	r runner
}

type attnArgs struct {
	dst, q, k, v                   []float32
	tokens, headDim, stride, width int
	causal                         bool
	s                              isa
}

var attnCalls = sync.Pool{New: func() any {
	c := new(attnCall)
	c.r.init(c.head)
	return c
}}

// head computes one head: S = q_h·k_hᵀ, row softmax of S/√d, dst_h = S·v_h.
func (c *attnCall) head(h int) {
	t, d, s := c.tokens, c.headDim, c.s
	off := h * d
	kpLen, vpLen := packedLen(s, t, d), packedLen(s, d, t)
	buf := getFloats(t*t + kpLen + vpLen)
	sc, kp, vp := (*buf)[:t*t], (*buf)[t*t:t*t+kpLen], (*buf)[t*t+kpLen:]

	packBT(s, kp, c.k[off:], c.stride, t, d)
	g := gemmArgs{s: s, dst: sc, ldc: t, a: c.q[off:], lda: c.stride, b: kp, m: t, n: t, k: d}
	g.setup()
	g.rect(0, t, 0, g.panels)

	scale := float32(1 / math.Sqrt(float64(d)))
	for i := 0; i < t; i++ {
		n := t
		if c.causal {
			n = i + 1
		}
		row := sc[i*t : i*t+n]
		softmaxScaled(s, row, scale)
		clear(sc[i*t+n : (i+1)*t])
	}

	packBN(s, vp, c.v[off:], c.stride, d, t)
	g = gemmArgs{s: s, dst: c.dst[off:], ldc: c.width, a: sc, lda: t, b: vp, m: t, n: d, k: t}
	g.setup()
	g.rect(0, t, 0, g.panels)
	floatPool.Put(buf)
}

// softmaxScaled replaces x by softmax(x·scale), scale > 0: the exponent
// arguments round exactly as x[i]·scale - max·scale computed in float32,
// the sum is accumulated in float64.
func softmaxScaled(s isa, x []float32, scale float32) {
	if len(x) == 0 {
		return
	}
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	expScaled(s, x, scale, m*scale)
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}
