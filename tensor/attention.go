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
// Heads run in parallel (see Parallel); each materialises one
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
	c.attnArgs = attnArgs{dst: dst, q: q, k: k, v: v, headDim: headDim,
		stride: stride, width: width, heads: heads, causal: causal, s: simd}
	c.seqs = append(c.seqs[:0], attnSeq{off: 0, tokens: tokens, q0: 0, q1: tokens, out: 0})
	c.start()
	c.release()
}

// AttentionBatch runs Attention over a batch of packed sequences: qkv is
// the fused projection [sum(lens), 3·heads·headDim] (q ‖ k ‖ v in each
// row), sequence s occupying lens[s] consecutive rows. All heads of all
// sequences share one parallel hand-out.
//
// If query is nil, dst is [sum(lens), heads·headDim], one row per token.
// Otherwise only the output row of token query[s] of each sequence s is
// computed (the one a pooled output needs), and dst is [len(lens),
// heads·headDim]; that row equals the one the full call gives. Every
// query[s] must lie in [0, lens[s]).
func AttentionBatch(dst, qkv []float32, lens []int, heads, headDim int, causal bool, query []int) {
	if len(lens) == 0 || heads == 0 || headDim == 0 {
		return
	}
	width := heads * headDim
	stride := 3 * width
	c := attnCalls.Get().(*attnCall)
	c.attnArgs = attnArgs{dst: dst, q: qkv, k: qkv[width:], v: qkv[2*width:], headDim: headDim,
		stride: stride, width: width, heads: heads, causal: causal, s: simd}
	c.seqs = c.seqs[:0]
	off := 0
	for i, n := range lens {
		sq := attnSeq{off: off, tokens: n, q0: 0, q1: n, out: off}
		if query != nil {
			sq.q0, sq.q1, sq.out = query[i], query[i]+1, i
		}
		c.seqs = append(c.seqs, sq)
		off += n
	}
	outRows := off
	if query != nil {
		outRows = len(lens)
	}
	if off > 0 {
		_ = qkv[off*stride-1]
		_ = dst[outRows*width-1]
	}
	c.start()
	c.release()
}

// attnCall is one Attention call; pooled so a call allocates nothing.
type attnCall struct {
	attnArgs
	seqs []attnSeq
	r    runner
}

// attnSeq is one sequence of a call: its first row in q, k and v, its
// length, the query rows [q0,q1) to compute and the dst row of q0.
type attnSeq struct {
	off, tokens, q0, q1, out int
}

type attnArgs struct {
	dst, q, k, v                  []float32
	headDim, stride, width, heads int
	causal                        bool
	s                             isa
}

var attnCalls = sync.Pool{New: func() any {
	c := new(attnCall)
	c.r.init(c.task)
	return c
}}

func (c *attnCall) start() {
	tasks := len(c.seqs) * c.heads
	flops := 0
	for _, sq := range c.seqs {
		flops += 4 * (sq.q1 - sq.q0) * sq.tokens * c.width
	}
	if flops < parallelMinFlops || maxWorkers == 1 {
		for t := 0; t < tasks; t++ {
			c.task(t)
		}
		return
	}
	c.r.run(tasks)
}

func (c *attnCall) release() {
	c.attnArgs = attnArgs{}
	attnCalls.Put(c)
}

// task computes head t%heads of sequence t/heads: S = q_h·k_hᵀ for the
// query rows, row softmax of S/√d (masked when causal), dst_h = S·v_h.
func (c *attnCall) task(t int) {
	sq := c.seqs[t/c.heads]
	h := t % c.heads
	d, s := c.headDim, c.s
	rows := sq.q1 - sq.q0
	// Keys beyond the last query row are masked out under causal.
	nk := sq.tokens
	if c.causal {
		nk = sq.q1
	}
	off := h*d + sq.off*c.stride
	kpLen, vpLen := packedLen(s, nk, d), packedLen(s, d, nk)
	buf := getFloats(rows*nk + kpLen + vpLen)
	sc, kp, vp := (*buf)[:rows*nk], (*buf)[rows*nk:rows*nk+kpLen], (*buf)[rows*nk+kpLen:]

	packBT(s, kp, c.k[off:], c.stride, nk, d)
	g := gemmArgs{s: s, dst: sc, ldc: nk, a: c.q[off+sq.q0*c.stride:], lda: c.stride, b: kp, m: rows, n: nk, k: d}
	g.setup()
	g.rect(0, rows, 0, g.panels)

	scale := float32(1 / math.Sqrt(float64(d)))
	for i := 0; i < rows; i++ {
		n := nk
		if c.causal {
			n = sq.q0 + i + 1
		}
		row := sc[i*nk : i*nk+n]
		softmaxScaled(s, row, scale)
		clear(sc[i*nk+n : (i+1)*nk])
	}

	packBN(s, vp, c.v[off:], c.stride, d, nk)
	g = gemmArgs{s: s, dst: c.dst[h*d+sq.out*c.width:], ldc: c.width, a: sc, lda: nk, b: vp, m: rows, n: d, k: nk}
	g.setup()
	g.rect(0, rows, 0, g.panels)
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
