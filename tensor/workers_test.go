package tensor

import (
	"sync/atomic"
	"testing"
)

// tw is the budget the package's tests compute with: every core.
var tw = NewWorkers(0)

// TestWorkersBudget checks that a budget of n never computes on more than
// n goroutines in one call, and that nil and NewWorkers(1) stay on the
// caller.
func TestWorkersBudget(t *testing.T) {
	for _, w := range []*Workers{nil, NewWorkers(1), NewWorkers(2), NewWorkers(3)} {
		var running, peak atomic.Int32
		w.Parallel(64, func(int) {
			r := running.Add(1)
			for {
				p := peak.Load()
				if r <= p || peak.CompareAndSwap(p, r) {
					break
				}
			}
			for i := 0; i < 20000; i++ { // long enough for helpers to overlap
				_ = i
			}
			running.Add(-1)
		})
		if p := peak.Load(); p > int32(w.N()) {
			t.Errorf("budget %d: %d tasks ran at once", w.N(), p)
		}
	}
	if NewWorkers(0).N() < 1 || NewWorkers(-3).N() < 1 {
		t.Error("NewWorkers(<=0) must use at least one goroutine")
	}
}
