package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Workers is a budget of goroutines for the parallel kernels (GEMM,
// attention, Parallel). Every call computes on its own goroutine and adds
// helpers only while one of the budget's n-1 helper slots is free, without
// waiting, so concurrent calls sharing one Workers never put more than
// (callers + n-1) goroutines on the CPUs, and a lone call uses all n.
// A nil *Workers runs everything on the calling goroutine. A Workers is
// safe for concurrent use.
type Workers struct {
	n     int
	slots chan struct{} // helper slots: n-1
}

// NewWorkers returns a budget of n goroutines; n <= 0 means
// runtime.GOMAXPROCS(0).
func NewWorkers(n int) *Workers {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	n = max(1, n)
	return &Workers{n: n, slots: make(chan struct{}, n-1)}
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
	wg    sync.WaitGroup
	do    func(task int)
	help  func()
}

func (r *runner) init(do func(int)) {
	r.do = do
	r.help = r.helper
}

func (r *runner) run(w *Workers, tasks int) {
	r.tasks = tasks
	r.w = w
	r.next.Store(0)
spawn:
	for h := 1; h < min(tasks, w.N()); h++ {
		select {
		case w.slots <- struct{}{}:
			r.wg.Add(1)
			go r.help()
		default:
			break spawn
		}
	}
	r.work()
	r.wg.Wait()
	r.w = nil
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

func (r *runner) helper() {
	r.work()
	<-r.w.slots
	r.wg.Done()
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
