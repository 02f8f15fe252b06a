package tensor

import (
	"sync/atomic"
	"testing"
	"time"
)

// tw is the budget the package's tests compute with: every core.
var tw = NewWorkers(0)

// TestWorkersBudget checks that a budget of n computes on exactly n
// goroutines when the tasks are long enough to overlap: never more (the
// budget holds), and n (the helpers do start), so it fails both for a
// budget that is ignored and for one that never parallelises. nil and
// NewWorkers(1) stay on the caller.
func TestWorkersBudget(t *testing.T) {
	for _, w := range []*Workers{nil, NewWorkers(1), NewWorkers(2), NewWorkers(3)} {
		var running, peak atomic.Int32
		w.Parallel(24, func(int) {
			r := running.Add(1)
			for {
				p := peak.Load()
				if r <= p || peak.CompareAndSwap(p, r) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond) // a sleeping task frees its CPU: overlap does not need cores
			running.Add(-1)
		})
		if p := peak.Load(); p != int32(w.N()) {
			t.Errorf("budget %d: %d tasks ran at once, want %d", w.N(), p, w.N())
		}
	}
	if NewWorkers(0).N() < 1 || NewWorkers(-3).N() < 1 {
		t.Error("NewWorkers(<=0) must use at least one goroutine")
	}
}
