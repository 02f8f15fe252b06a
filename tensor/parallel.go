package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// maxWorkers is the number of goroutines one call may compute on, fixed
// from GOMAXPROCS when the package is loaded (later GOMAXPROCS changes are
// not followed).
var maxWorkers = max(1, runtime.GOMAXPROCS(0))

// helperSlots bounds the helper goroutines of all concurrent calls
// together to maxWorkers-1. A call always computes on its own goroutine
// and adds helpers only while a slot is free, without waiting, so several
// concurrent forwards never put more than (callers + maxWorkers-1)
// goroutines on the CPUs, and a lone call uses every core. This is the
// package's only shared state: a counting semaphore sized once.
var helperSlots = make(chan struct{}, maxWorkers-1)

// runner hands out tasks 0…n-1 to the calling goroutine and any helpers.
// The func values are bound once (init), so a run allocates nothing.
type runner struct {
	tasks int
	next  atomic.Int64
	wg    sync.WaitGroup
	do    func(task int)
	help  func()
}

func (r *runner) init(do func(int)) {
	r.do = do
	r.help = r.helper
}

func (r *runner) run(tasks int) {
	r.tasks = tasks
	r.next.Store(0)
spawn:
	for h := 1; h < min(tasks, maxWorkers); h++ {
		select {
		case helperSlots <- struct{}{}:
			r.wg.Add(1)
			go r.help()
		default:
			break spawn
		}
	}
	r.work()
	r.wg.Wait()
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
	<-helperSlots
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
// goroutines as the package's worker budget (GOMAXPROCS-1 helpers shared
// by all concurrent calls, including the GEMMs) has free; with none free
// it runs them all on the caller. f must be safe to call concurrently;
// calls of Parallel may nest (an inner call finds the slots taken and
// runs inline or on the slots released meanwhile).
func Parallel(n int, f func(i int)) {
	if n <= 0 {
		return
	}
	if n == 1 || maxWorkers == 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	c := parCalls.Get().(*parCall)
	c.f = f
	c.r.run(n)
	c.f = nil
	parCalls.Put(c)
}
