package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Workers is a budget of goroutines for the parallel kernels (GEMM,
// attention, Parallel). Every call computes on its own goroutine and adds
// helpers only while one of the budget's n-1 helper slots is free, without
// waiting, so concurrent calls sharing one Workers never put more than
// (callers + n-1) goroutines on the CPUs, and a lone call uses all n.
// A nil *Workers runs everything on the calling goroutine. A Workers is
// safe for concurrent use.
//
// A helper whose call is done keeps its slot and spins for up to
// spinWait, taking the next call that wants a helper: an encoder layer
// makes about ten calls, and a helper started afresh for each waits for
// its idle thread to wake (40–80 µs measured on a 2-vCPU VM, about 5% of
// a batch-1 image's time). Helpers that wait longer leave, freeing the
// slot.
type Workers struct {
	n     int
	slots chan struct{} // helper slots: n-1
	// spinning counts helpers spinning for a call not yet handed to them;
	// a call claims one by decrementing it, then sends itself on handoff.
	spinning atomic.Int32
	handoff  chan *runner
}

// spinWait is how long a helper waits for the next call, and a caller for
// its helpers, before sleeping.
const spinWait = 100 * time.Microsecond

// NewWorkers returns a budget of n goroutines; n <= 0 means
// runtime.GOMAXPROCS(0).
func NewWorkers(n int) *Workers {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	n = max(1, n)
	return &Workers{n: n, slots: make(chan struct{}, n-1), handoff: make(chan *runner, n)}
}

// N is the number of goroutines a call may compute on (1 for nil).
func (w *Workers) N() int {
	if w == nil {
		return 1
	}
	return w.n
}

// runner hands out tasks 0…n-1 to the calling goroutine and any helpers.
// The func values are bound once (init), so a run allocates nothing.
type runner struct {
	tasks int
	w     *Workers
	next  atomic.Int64
	// Helpers not done with this run: active for the caller's spin, wg
	// for its sleep.
	active atomic.Int32
	wg     sync.WaitGroup
	do     func(task int)
	start  func() // a new helper's body, bound once: `go r.start()` allocates nothing
}

func (r *runner) init(do func(int)) {
	r.do = do
	r.start = func() { r.w.helper(r) }
}

func (r *runner) run(w *Workers, tasks int) {
	r.tasks = tasks
	r.w = w
	r.next.Store(0)
helpers:
	for h := 1; h < min(tasks, w.N()); h++ {
		if !w.claimSpinner() {
			select {
			case w.slots <- struct{}{}:
			default:
				break helpers
			}
			r.active.Add(1)
			r.wg.Add(1)
			go r.start()
			continue
		}
		r.active.Add(1)
		r.wg.Add(1)
		w.handoff <- r
	}
	r.work()
	// The helpers are finishing their last tasks: wait for them spinning
	// first, for the same reason helpers spin (BenchmarkParallelCalls:
	// 1.03 task-times per call with this wait, 1.22 without).
	for t0 := time.Now(); r.active.Load() > 0 && time.Since(t0) < spinWait; {
		runtime.Gosched()
	}
	r.wg.Wait()
}

// claimSpinner claims a spinning helper, if there is one.
func (w *Workers) claimSpinner() bool {
	for {
		s := w.spinning.Load()
		if s == 0 {
			return false
		}
		if w.spinning.CompareAndSwap(s, s-1) {
			return true
		}
	}
}

func (r *runner) work() {
	for {
		t := int(r.next.Add(1) - 1)
		if t >= r.tasks {
			return
		}
		r.do(t)
	}
}

// helper works on r, then on every call handed to it while it spins;
// it holds a slot throughout.
func (w *Workers) helper(r *runner) {
	for r != nil {
		r.work()
		r.active.Add(-1)
		r.wg.Done()
		r = w.nextCall()
	}
	<-w.slots
}

// nextCall spins for up to spinWait for a call to help with; nil means
// none came and the helper leaves. Invariant: spinning = spinners not yet
// matched − calls sent but not received, so a spinner that finds it 0 has
// a call on its way.
func (w *Workers) nextCall() *runner {
	w.spinning.Add(1)
	for t0 := time.Now(); time.Since(t0) < spinWait; {
		select {
		case r := <-w.handoff:
			return r
		default:
			runtime.Gosched()
		}
	}
	for {
		s := w.spinning.Load()
		if s == 0 { // claimed: the call is on its way
			return <-w.handoff
		}
		if w.spinning.CompareAndSwap(s, s-1) {
			return nil
		}
	}
}

// parCall is one Parallel call; pooled so that the runner's bound helper
// is made once.
type parCall struct {
	f func(int)
	r runner
}

var parCalls = sync.Pool{New: func() any {
	c := new(parCall)
	c.r.init(c.task)
	return c
}}

func (c *parCall) task(i int) { c.f(i) }

// Parallel runs f(0)…f(n-1) on the calling goroutine and as many helper
// goroutines as the budget (shared by all concurrent calls, including the
// GEMMs) has free; with none free it runs them all on the caller. f must
// be safe to call concurrently; calls of Parallel may nest (an inner call
// finds the slots taken and runs inline or on the slots released
// meanwhile).
func (w *Workers) Parallel(n int, f func(i int)) {
	if n <= 0 {
		return
	}
	if n == 1 || w.N() == 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	c := parCalls.Get().(*parCall)
	c.f = f
	c.r.run(w, n)
	c.f = nil
	parCalls.Put(c)
}
