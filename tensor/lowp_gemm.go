package tensor

import (
	"fmt"
	"sync"
	"unsafe"
)

// lowpWeights is a Linear's weight in a reduced precision, packed for the
// kernels of s in panels of lowpNR output columns.
type lowpWeights struct {
	prec    Precision
	k       lowpKernel
	in, out int
	panels  int
	bf      []uint16  // BF16: panels·16·in (dot layout: panels·16·2⌈in/2⌉)
	q       qweights  // Int8
	bias    []float32 // panels·16, or nil
}

// lowpOverride, when set, replaces pickLowp for new weights (tests).
var lowpOverride = kUnset

const kUnset lowpKernel = 255

// newLowp converts and packs the stacked weight ws [out, in] (and bias
// parts bs, or nil) to precision p; block is the Int8 activation block (0:
// per row). The parts are read, not retained.
func newLowp(wk *Workers, p Precision, ws, bs [][]float32, out, in, block int, inputRange []float32) (*lowpWeights, error) {
	if p != BF16 && p != Int8 {
		return nil, fmt.Errorf("tensor: precision %v has no reduced-precision kernels", p)
	}
	if block <= 0 || block >= in {
		block = in
	} else if block%2 == 1 {
		return nil, fmt.Errorf("tensor: int8 quantisation block %d must be even", block)
	}
	k := pickLowp(p)
	if lowpOverride != kUnset {
		k = lowpOverride
	}
	if k.dot() && p == Int8 && block < in && block%4 != 0 {
		return nil, fmt.Errorf("tensor: int8 quantisation block %d must be a multiple of 4 for the %s kernels", block, k.name(p))
	}
	w := &lowpWeights{prec: p, k: k, in: in, out: out, panels: (out + lowpNR - 1) / lowpNR}
	cols := w.panels * lowpNR
	const group = 8 // panels per packing task
	tasks := (w.panels + group - 1) / group
	switch p {
	case BF16:
		per := in // values per column
		if k.dot() {
			per = (in + 1) / 2 * 2
		}
		w.bf = make([]uint16, cols*per)
		wk.Parallel(tasks, func(t int) {
			p0, p1 := t*group, min(w.panels, (t+1)*group)
			dst := w.bf[p0*lowpNR*per : p1*lowpNR*per]
			if k.dot() {
				packBF16Pairs(dst, ws, p0*lowpNR, out, in)
			} else {
				packBF16(dst, ws, p0*lowpNR, out, in)
			}
		})
	case Int8:
		per := (in + 1) / 2 * 2 // bytes per column
		if k.dot() {
			per = (in + 3) / 4 * 4
		}
		nb := (in + block - 1) / block
		w.q = qweights{q: make([]int8, cols*per), scale: make([]float32, cols), block: block, sum: make([]int32, nb*cols)}
		if inputRange != nil {
			if len(inputRange) != in {
				return nil, fmt.Errorf("tensor: input range has %d values for %d inputs", len(inputRange), in)
			}
			w.q.smooth, w.q.unsmooth = smoothing(ws, inputRange, in)
		}
		wk.Parallel(tasks, func(t int) {
			p0, p1 := t*group, min(w.panels, (t+1)*group)
			if k.dot() {
				packInt8Quads(&w.q, p0, p1-p0, ws, out, in)
			} else {
				packInt8(&w.q, p0, p1-p0, ws, out, in)
			}
		})
	}
	if bs != nil {
		w.bias = make([]float32, cols)
		off := 0
		for _, b := range bs {
			off += copy(w.bias[off:], b)
		}
	}
	return w, nil
}

// stride is the row stride of the prepared activations (values): inputs
// padded to whole pairs (int16, bf16) or quads (u8).
func (w *lowpWeights) stride() int {
	if w.prec == Int8 && w.k.dot() {
		return (w.in + 3) / 4 * 4
	}
	return (w.in + 1) / 2 * 2
}

// qacts is the quantised input of one Int8 product (pooled).
type qacts struct {
	a  []int16 // Int8: u8 values as int16; BF16 (dot layout): bf16 bits
	a8 []uint8 // Int8, dot layout: the same values as bytes
	sc []float32
	zp []int32
}

var qactsPool = sync.Pool{New: func() any { return new(qacts) }}

// lowpCall is one product; pooled so a call allocates nothing.
type lowpCall struct {
	wk         *Workers
	w          *lowpWeights
	dst, x     []float32
	rows       int
	act        Activation
	accum      bool
	qa         *qacts
	nb         int // activation blocks per row (Int8)
	mBlock     int
	pBlock     int
	pBlocks    int
	quantRows  int // rows per quantisation task
	quantTasks int
	r          runner
	qr         runner
}

var lowpCalls = sync.Pool{New: func() any {
	c := new(lowpCall)
	c.r.init(c.task)
	c.qr.init(c.quantTask)
	return c
}}

// forward computes dst[rows,out] (+)= act(x[rows,in]·Wᵀ + b) on up to
// wk.N() goroutines.
func (w *lowpWeights) forward(wk *Workers, dst, x []float32, rows int, act Activation, accum bool) {
	if rows == 0 {
		return
	}
	_ = dst[rows*w.out-1]
	_ = x[rows*w.in-1]
	c := lowpCalls.Get().(*lowpCall)
	c.wk, c.w, c.dst, c.x, c.rows, c.act, c.accum = wk, w, dst, x, rows, act, accum
	c.qa = nil
	if w.prec == Int8 || w.k.dot() {
		c.qa = qactsPool.Get().(*qacts)
		c.nb = 1
		if w.prec == Int8 {
			c.nb = (w.in + w.q.block - 1) / w.q.block
		}
		c.qa.a = grow(c.qa.a, rows*w.stride())
		if w.prec == Int8 && w.k.dot() {
			c.qa.a8 = grow(c.qa.a8, rows*w.stride())
		}
		c.qa.sc = grow(c.qa.sc, rows*c.nb)
		c.qa.zp = grow(c.qa.zp, rows*c.nb)
		c.quantRows = max(1, min(rows, 32768/w.in))
		c.quantTasks = (rows + c.quantRows - 1) / c.quantRows
		c.run(&c.qr, c.quantTasks, rows*w.in*64)
	}
	mr := w.k.mr()
	c.mBlock = rows
	if rows > 128 {
		nb := (rows + 119) / 120
		c.mBlock = ((rows+nb-1)/nb + mr - 1) / mr * mr
	}
	mBlocks := (rows + c.mBlock - 1) / c.mBlock
	c.pBlock = max(1, min(4, w.panels*mBlocks/(16*wk.N())))
	if w.k.panels() > 1 {
		// Several panels per tile call: tasks of up to that many panels,
		// about 4 per worker (a guess: not measured on an AMX machine).
		c.pBlock = max(1, min(w.k.panels(), w.panels*mBlocks/(4*wk.N())))
	}
	c.pBlocks = (w.panels + c.pBlock - 1) / c.pBlock
	c.run(&c.r, mBlocks*c.pBlocks, 2*rows*w.out*w.in)
	if c.qa != nil {
		qactsPool.Put(c.qa)
	}
	c.wk, c.w, c.dst, c.x, c.qa = nil, nil, nil, nil, nil
	lowpCalls.Put(c)
}

// run runs tasks on r, or inline when the work is below parallelMinFlops.
func (c *lowpCall) run(r *runner, tasks, flops int) {
	if flops < parallelMinFlops || c.wk.N() == 1 {
		for t := 0; t < tasks; t++ {
			r.do(t)
		}
		return
	}
	r.run(c.wk, tasks)
}

// quantTask prepares the activations of a group of rows: quantised
// (Int8), or rounded to bf16 (BF16 in the dot layout).
func (c *lowpCall) quantTask(t int) {
	w := c.w
	r0 := t * c.quantRows
	r1 := min(c.rows, r0+c.quantRows)
	st := w.stride()
	if w.prec == BF16 {
		for r := r0; r < r1; r++ {
			d := c.qa.a[r*st : (r+1)*st]
			for i, v := range c.x[r*w.in : (r+1)*w.in] {
				d[i] = int16(bf16(v))
			}
			clear(d[w.in:])
		}
		return
	}
	quantizeActs(c.qa.a, c.qa.sc, c.qa.zp, c.x, r0, r1, w.in, w.q.block, w.q.unsmooth, st)
	if w.k.dot() {
		for i, v := range c.qa.a[r0*st : r1*st] {
			c.qa.a8[r0*st+i] = uint8(v)
		}
	}
}

func (c *lowpCall) task(t int) {
	mb, pb := t/c.pBlocks, t%c.pBlocks
	i0, p0 := mb*c.mBlock, pb*c.pBlock
	c.rect(i0, min(i0+c.mBlock, c.rows), p0, min(p0+c.pBlock, c.w.panels))
}

// rect computes rows [i0,i1) of dst for the columns of panels [p0,p1).
func (c *lowpCall) rect(i0, i1, p0, p1 int) {
	w := c.w
	mr, n, k := w.k.mr(), w.out, w.in
	var edge [16 * lowpNR]float32 // up to mr (16: AMX) rows
	kb := k                       // k block: the activation block for Int8, else kcMax
	if w.prec == Int8 {
		kb = w.q.block
	} else if k > kcMax {
		nb := (k + kcMax - 1) / kcMax
		kb = ((k+nb-1)/nb + 1) / 2 * 2 // even: whole pairs in the dot layout
	}
	for p, np := p0, 1; p < p1; p += np {
		// Up to k.panels() panels per tile call; the last panel, when
		// partial (n not a multiple of 16), alone through edge.
		np = min(w.k.panels(), p1-p)
		partial := n%lowpNR != 0 && p+np == w.panels
		if partial && np > 1 {
			np, partial = np-1, false
		}
		j0 := p * lowpNR
		nv := min(lowpNR, n-j0)
		for i := i0; i < i1; i += mr {
			rows := min(mr, i1-i)
			cp, ldc := at(c.dst, i*n+j0), n
			if partial {
				cp, ldc = &edge[0], lowpNR
				for r := 0; r < rows && c.accum; r++ {
					copy(edge[r*lowpNR:r*lowpNR+nv], c.dst[(i+r)*n+j0:])
				}
			}
			for k0, b := 0, 0; k0 < k; k0, b = k0+kb, b+1 {
				acc := 0
				if k0 > 0 || c.accum {
					acc = 1
				}
				var bias *float32
				if k0+kb >= k && w.bias != nil {
					bias = &w.bias[j0]
				}
				c.block(p, np, i, rows, k0, min(kb, k-k0), b, cp, ldc, bias, acc)
			}
			if partial {
				for r := 0; r < rows; r++ {
					copy(c.dst[(i+r)*n+j0:(i+r)*n+j0+nv], edge[r*lowpNR:])
				}
			}
		}
	}
	// The activation once per row of the rect, over all its panels: one
	// call per 16 columns and row cost more than the activation itself.
	if c.act != ActNone {
		j0, j1 := p0*lowpNR, min(n, p1*lowpNR)
		for r := i0; r < i1; r++ {
			activate(simd, c.dst[r*n+j0:r*n+j1], c.act)
		}
	}
}

// block runs the kernel for inputs [k0, k0+kb) (block b) of one row tile
// of np panels from p (np > 1 only for the dot-product kernels).
func (c *lowpCall) block(p, np, i, rows, k0, kb, b int, cp *float32, ldc int, bias *float32, acc int) {
	w := c.w
	k, st, j0 := w.in, w.stride(), p*lowpNR
	switch {
	case w.prec == BF16 && !w.k.dot():
		bp := &w.bf[p*lowpNR*k+k0*lowpNR]
		btile(w.k, rows, kb, at(c.x, i*k+k0), k, bp, cp, ldc, bias, acc)
	case w.prec == BF16:
		ap := (*uint16)(unsafe.Pointer(&c.qa.a[i*st+k0]))
		b2tile(w.k, rows, (kb+1)/2, np, ap, st, &w.bf[p*lowpNR*st+k0*lowpNR], lowpNR*st, cp, ldc, bias, acc)
	case !w.k.dot():
		ap := &c.qa.a[i*st+k0]
		qtile(w.k, rows, (kb+1)/2, ap, st, &w.q.q[p*lowpNR*st+k0*lowpNR], cp, ldc, &c.qa.sc[i*c.nb+b], &c.qa.zp[i*c.nb+b], c.nb,
			&w.q.scale[j0], &w.q.sum[b*w.panels*lowpNR+j0], bias, acc)
	default:
		ap := &c.qa.a8[i*st+k0]
		q8tile(w.k, rows, (kb+3)/4, np, ap, st, &w.q.q[p*lowpNR*st+k0*lowpNR], lowpNR*st, cp, ldc, &c.qa.sc[i*c.nb+b], &c.qa.zp[i*c.nb+b], c.nb,
			&w.q.scale[j0], &w.q.sum[b*w.panels*lowpNR+j0], bias, acc)
	}
}

// grow returns b resized to n, reallocated only when its capacity is short.
func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}
