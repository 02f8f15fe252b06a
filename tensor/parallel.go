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
