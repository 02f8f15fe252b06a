package tensor

import (
	"math"
	"sync"
)

// attention computes multi-head scaled dot-product attention for one
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
func attention(wk *Workers, dst, q, k, v []float32, tokens, heads, headDim, stride int, causal bool) {
	if tokens == 0 || heads == 0 || headDim == 0 {
		return
	}
	width := heads * headDim
	last := (tokens-1)*stride + width - 1
	_, _, _, _ = q[last], k[last], v[last], dst[tokens*width-1]
	c := attnCalls.Get().(*attnCall)
	c.attnArgs = attnArgs{dst: dst, q: q, k: k, v: v, headDim: headDim,
		stride: stride, width: width, heads: heads, causal: causal, s: simd}
	c.seqs = append(c.seqs[:0], AttnSeq{N: tokens, Q0: 0, Q1: tokens, Out: 0})
	c.start(wk)
	c.release()
}

// attentionBatch runs Attention over a batch of packed sequences: qkv is
// the fused projection [sum(lens), 3·heads·headDim] (q ‖ k ‖ v in each
// row), sequence s occupying lens[s] consecutive rows. All heads of all
// sequences share one parallel hand-out.
//
// If query is nil, dst is [sum(lens), heads·headDim], one row per token.
// Otherwise only the output row of token query[s] of each sequence s is
// computed (the one a pooled output needs), and dst is [len(lens),
// heads·headDim]; that row equals the one the full call gives. Every
// query[s] must lie in [0, lens[s]).
func attentionBatch(wk *Workers, dst, qkv []float32, lens []int, heads, headDim int, causal bool, query []int) {
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
		sq := AttnSeq{Off: off, N: n, Q0: 0, Q1: n, Out: off}
		if query != nil {
			sq.Q0, sq.Q1, sq.Out = query[i], query[i]+1, i
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
	c.start(wk)
	c.release()
}

// AttnSeq describes one sequence of AttentionSeqs.
type AttnSeq struct {
	// Off and N: the sequence's tokens 0…N-1 are rows Off…Off+N-1 of qkv,
	// or, if Rows is not nil (len N), rows Rows[0…N-1]: sequences may
	// share rows, such as a prompt prefix common to several texts.
	Off, N int
	Rows   []int
	// Q0, Q1: the tokens whose outputs are computed; their rows must be
	// consecutive. Out: the dst row of token Q0 (Q0+1… follow).
	Q0, Q1, Out int
}

// AttentionSeqs is the general form of AttentionBatch: qkv is the fused
// projection [rows, 3·heads·headDim], and for every sequence the outputs
// of tokens Q0…Q1-1 are written to dst [·, heads·headDim]. With causal,
// token i attends to tokens 0…i of its sequence.
func AttentionSeqs(wk *Workers, dst, qkv []float32, seqs []AttnSeq, heads, headDim int, causal bool) {
	if len(seqs) == 0 || heads == 0 || headDim == 0 {
		return
	}
	width := heads * headDim
	c := attnCalls.Get().(*attnCall)
	c.attnArgs = attnArgs{dst: dst, q: qkv, k: qkv[width:], v: qkv[2*width:], headDim: headDim,
		stride: 3 * width, width: width, heads: heads, causal: causal, s: simd}
	c.seqs = append(c.seqs[:0], seqs...)
	c.start(wk)
	clear(c.seqs) // drop the Rows references
	c.release()
}

// attnCall is one Attention call; pooled so a call allocates nothing.
type attnCall struct {
	attnArgs
	seqs []AttnSeq
	r    runner
}

// Row is the qkv row of token i.
func (sq *AttnSeq) Row(i int) int {
	if sq.Rows != nil {
		return sq.Rows[i]
	}
	return sq.Off + i
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

func (c *attnCall) start(wk *Workers) {
	tasks := len(c.seqs) * c.heads
	flops := 0
	for _, sq := range c.seqs {
		flops += 4 * (sq.Q1 - sq.Q0) * sq.N * c.width
	}
	if flops < parallelMinFlops || wk.N() == 1 {
		for t := 0; t < tasks; t++ {
			c.task(t)
		}
		return
	}
	c.r.run(wk, tasks)
}

func (c *attnCall) release() {
	c.attnArgs = attnArgs{}
	attnCalls.Put(c)
}

// task computes head t%heads of sequence t/heads: S = q_h·k_hᵀ for the
// query rows, row softmax of S/√d (masked when causal), dst_h = S·v_h.
func (c *attnCall) task(t int) {
	sq := &c.seqs[t/c.heads]
	h := t % c.heads
	d, s := c.headDim, c.s
	rows := sq.Q1 - sq.Q0
	// Keys beyond the last query row are masked out under causal.
	nk := sq.N
	if c.causal {
		nk = sq.Q1
	}
	kpLen, vpLen := packedLen(s, nk, d), packedLen(s, d, nk)
	buf := getFloats(rows*nk + kpLen + vpLen)
	sc, kp, vp := (*buf)[:rows*nk], (*buf)[rows*nk:rows*nk+kpLen], (*buf)[rows*nk+kpLen:]

	if sq.Rows == nil {
		packBT(s, kp, c.k[h*d+sq.Off*c.stride:], c.stride, nk, d)
	} else {
		packBTGather(s, kp, c.k[h*d:], c.stride, sq.Rows[:nk], d)
	}
	g := gemmArgs{s: s, dst: sc, ldc: nk, a: c.q[h*d+sq.Row(sq.Q0)*c.stride:], lda: c.stride, b: kp, m: rows, n: nk, k: d}
	g.setup()
	g.rect(0, rows, 0, g.panels)

	scale := float32(1 / math.Sqrt(float64(d)))
	for i := 0; i < rows; i++ {
		n := nk
		if c.causal {
			n = sq.Q0 + i + 1
		}
		row := sc[i*nk : i*nk+n]
		softmaxScaled(s, row, scale)
		clear(sc[i*nk+n : (i+1)*nk])
	}

	if sq.Rows == nil {
		packBN(s, vp, c.v[h*d+sq.Off*c.stride:], c.stride, d, nk)
	} else {
		packBNGather(s, vp, c.v[h*d:], c.stride, sq.Rows[:nk], d)
	}
	g = gemmArgs{s: s, dst: c.dst[h*d+sq.Out*c.width:], ldc: c.width, a: sc, lda: nk, b: vp, m: rows, n: d, k: nk}
	g.setup()
	g.rect(0, rows, 0, g.panels)
	floatPool.Put(buf)
}

// packBTGather is packBT for b's rows rows[0…n-1] (each of k values, row
// r at b[r·ldb]), n = len(rows).
func packBTGather(s isa, dst, b []float32, ldb int, rows []int, k int) {
	nr := s.shape().nr
	n := len(rows)
	for p := 0; p*nr < n; p++ {
		panel := dst[p*nr*k : (p+1)*nr*k]
		for j := 0; j < nr; j++ {
			if p*nr+j >= n {
				for kk := 0; kk < k; kk++ {
					panel[kk*nr+j] = 0
				}
				continue
			}
			r := rows[p*nr+j]
			for kk, v := range b[r*ldb : r*ldb+k] {
				panel[kk*nr+j] = v
			}
		}
	}
}

// packBNGather is packBN for the matrix whose row kk is b[rows[kk]·ldb…]
// (n values each), k = len(rows).
func packBNGather(s isa, dst, b []float32, ldb int, rows []int, n int) {
	nr := s.shape().nr
	k := len(rows)
	for p := 0; p*nr < n; p++ {
		panel := dst[p*nr*k : (p+1)*nr*k]
		nv := min(nr, n-p*nr)
		for kk, r := range rows {
			d := panel[kk*nr : kk*nr+nr]
			copy(d, b[r*ldb+p*nr:r*ldb+p*nr+nv])
			clear(d[nv:])
		}
	}
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
