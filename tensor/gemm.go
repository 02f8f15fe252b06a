package tensor

import (
	"sync"
	"unsafe"
)

// The GEMM driver. C[m,n] = act(A[m,k]·B + bias) where B has been packed
// into panels of nr columns (see packBT, packBN). Loop nest of one task
// (rows [i0,i1) × panels [p0,p1)), BLIS-style:
//
//	for each k block of ≤ kcMax          (A rows × kc stay in L2)
//	  for each panel p                   (kc×nr of B stays in L1)
//	    for each mr rows i               (register tile)
//	      tile(...)   // accumulate into C; bias on the last k block
//	      activation on the finished tile, while it is in L1
//
// A is read in place, row by row, not packed: each of the mr rows the
// kernel broadcasts from is a sequential stream, and for CLIP's shapes
// (K ≤ 3072) copying A would cost more than it saves.

// kcMax bounds the k block. Measured on Zen 4 (BENCHMARKS.md): the kernel
// streams its packed panel (kc×nr floats, 96 KiB at kc = 768, nr = 32)
// from L2 at full speed, so a long k block, which re-reads and re-writes
// C less often, beat the L1-sized 128…384 by 5–15% on CLIP's shapes.
const kcMax = 768

// gemmArgs describes one product; dst, a and b are checked by the caller.
type gemmArgs struct {
	s          isa
	dst        []float32
	ldc        int
	a          []float32
	lda        int
	b          []float32 // packed panels, panelLen(k) floats each
	m, n, k    int
	bias       []float32 // nil, or one value per packed column
	act        Activation
	accum      bool // C += product (residual add) instead of C = product
	kc, panels int
	wk         *Workers // goroutine budget; nil: the calling goroutine only
}

func (g *gemmArgs) setup() {
	nr := g.s.shape().nr
	g.panels = (g.n + nr - 1) / nr
	g.kc = g.k
	if g.k > kcMax {
		nb := (g.k + kcMax - 1) / kcMax
		g.kc = (g.k + nb - 1) / nb
	}
}

func at(s []float32, i int) *float32 {
	return (*float32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(s)), 4*i))
}

// rect computes rows [i0,i1) of C for the columns of panels [p0,p1).
func (g *gemmArgs) rect(i0, i1, p0, p1 int) {
	sh := g.s.shape()
	mr, nr := sh.mr, sh.nr
	var edge [10 * 32]float32 // one tile for a partial last panel
	k0 := 0
	for {
		kb := min(g.kc, g.k-k0)
		last := k0+kb == g.k
		acc := 0
		if k0 > 0 || g.accum {
			acc = 1
		}
		for p := p0; p < p1; p++ {
			j0 := p * nr
			nv := min(nr, g.n-j0)
			bp := at(g.b, p*nr*g.k+k0*nr)
			var bias *float32
			if last && g.bias != nil {
				bias = &g.bias[j0]
			}
			for i := i0; i < i1; i += mr {
				rows := min(mr, i1-i)
				ap := at(g.a, i*g.lda+k0)
				if nv == nr {
					tile(g.s, rows, kb, ap, g.lda, bp, at(g.dst, i*g.ldc+j0), g.ldc, bias, acc)
				} else {
					for r := 0; r < rows && acc != 0; r++ {
						copy(edge[r*nr:r*nr+nv], g.dst[(i+r)*g.ldc+j0:])
					}
					tile(g.s, rows, kb, ap, g.lda, bp, &edge[0], nr, bias, acc)
					for r := 0; r < rows; r++ {
						copy(g.dst[(i+r)*g.ldc+j0:(i+r)*g.ldc+j0+nv], edge[r*nr:])
					}
				}
			}
		}
		k0 += kb
		if k0 >= g.k {
			break
		}
	}
	// The activation once per row of the rect, over all its panels (see
	// lowpCall.rect).
	if g.act != ActNone {
		j0, j1 := p0*nr, min(g.n, p1*nr)
		for r := i0; r < i1; r++ {
			activate(g.s, g.dst[r*g.ldc+j0:r*g.ldc+j1], g.act)
		}
	}
}

// parallelMinFlops is the size below which a product runs on the calling
// goroutine alone: starting a helper costs about a microsecond.
const parallelMinFlops = 1 << 18

// gemmCall is one parallel product; pooled so a call allocates nothing.
type gemmCall struct {
	gemmArgs
	mBlock, pBlock, mBlocks, pBlocks int
	r                                runner
}

var gemmCalls = sync.Pool{New: func() any {
	c := new(gemmCall)
	c.r.init(c.task)
	return c
}}

// task t computes row block t/pBlocks for panel block t%pBlocks:
// consecutive tasks share the row block, which stays in L2 while the
// panels stream past it.
func (c *gemmCall) task(t int) {
	mb, pb := t/c.pBlocks, t%c.pBlocks
	i0 := mb * c.mBlock
	p0 := pb * c.pBlock
	c.rect(i0, min(i0+c.mBlock, c.m), p0, min(p0+c.pBlock, c.panels))
}

// run computes the product described by g, in parallel when it is large.
func (g gemmArgs) run() {
	if g.m == 0 || g.n == 0 {
		return
	}
	g.setup()
	workers := g.wk.N()
	if 2*g.m*g.n*g.k < parallelMinFlops || workers == 1 {
		g.rect(0, g.m, 0, g.panels)
		return
	}
	c := gemmCalls.Get().(*gemmCall)
	c.gemmArgs = g
	mr := g.s.shape().mr
	// Row blocks of about 120 rows (A block ≤ 120×kc floats in L2), a
	// multiple of mr.
	c.mBlock = g.m
	if g.m > 128 {
		nb := (g.m + 119) / 120
		c.mBlock = ((g.m+nb-1)/nb + mr - 1) / mr * mr
	}
	c.mBlocks = (g.m + c.mBlock - 1) / c.mBlock
	// Panel blocks of 1…4 panels, about 16 tasks per worker: a task is then
	// 20–200 µs, so the dynamic hand-out balances the workers to within a
	// few percent even when a helper starts late.
	c.pBlock = max(1, min(4, g.panels*c.mBlocks/(16*workers)))
	c.pBlocks = (g.panels + c.pBlock - 1) / c.pBlock
	tasks := c.mBlocks * c.pBlocks
	c.r.run(g.wk, tasks)
	c.gemmArgs = gemmArgs{}
	gemmCalls.Put(c)
}

// panelsLen is the packed size of an n-column operand with k rows.
func packedLen(s isa, n, k int) int {
	nr := s.shape().nr
	return (n + nr - 1) / nr * nr * k
}

// packBT packs b [n,k] (row stride ldb), used transposed, into dst: panel
// p holds dst[p·nr·k + kk·nr + j] = b[(p·nr+j)·ldb + kk], zero beyond n.
func packBT(s isa, dst, b []float32, ldb, n, k int) {
	nr := s.shape().nr
	for p := 0; p*nr < n; p++ {
		panel := dst[p*nr*k : (p+1)*nr*k]
		for j := 0; j < nr; j++ {
			col := p*nr + j
			if col >= n {
				for kk := 0; kk < k; kk++ {
					panel[kk*nr+j] = 0
				}
				continue
			}
			row := b[col*ldb : col*ldb+k]
			for kk, v := range row {
				panel[kk*nr+j] = v
			}
		}
	}
}

// packBN packs b [k,n] (row stride ldb) into dst: panel p holds
// dst[p·nr·k + kk·nr + j] = b[kk·ldb + p·nr + j], zero beyond n.
func packBN(s isa, dst, b []float32, ldb, n, k int) {
	nr := s.shape().nr
	for p := 0; p*nr < n; p++ {
		panel := dst[p*nr*k : (p+1)*nr*k]
		nv := min(nr, n-p*nr)
		for kk := 0; kk < k; kk++ {
			d := panel[kk*nr : kk*nr+nr]
			copy(d, b[kk*ldb+p*nr:kk*ldb+p*nr+nv])
			clear(d[nv:])
		}
	}
}

// floatPool recycles scratch slices (packed operands, score blocks).
var floatPool = sync.Pool{New: func() any { return new([]float32) }}

func getFloats(n int) *[]float32 {
	p := floatPool.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}
