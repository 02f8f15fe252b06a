package tensor

import (
	"sync"
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

// BenchmarkParallelCalls times back-to-back Parallel calls of two tasks of
// 50–80 µs of arithmetic each (by the CPU), as an encoder layer makes them
// at batch 1. On two cores the ideal is one task's time per call; the
// excess is the time a helper takes to start (a woken thread, or a
// spinning helper) and the caller to learn it finished.
func BenchmarkParallelCalls(b *testing.B) {
	w := NewWorkers(2)
	var sink [2]float64
	task := func(i int) {
		x := float64(i) + 1
		for range 40000 {
			x = x*1.0000001 + 1e-9
		}
		sink[i] = x
	}
	t0 := time.Now()
	task(0)
	one := time.Since(t0)
	b.ResetTimer()
	for range b.N {
		w.Parallel(2, task)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(one.Nanoseconds()), "task-times/call")
}

// TestParallelHandoff runs many short calls from several goroutines on
// one budget, with pauses long enough for spinning helpers to leave and
// short enough to catch them spinning, and checks that every task runs
// exactly once and that no call is left waiting (a lost handoff would
// hang here).
func TestParallelHandoff(t *testing.T) {
	w := NewWorkers(3)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				var hits [5]atomic.Int32
				w.Parallel(len(hits), func(j int) { hits[j].Add(1) })
				for j := range hits {
					if n := hits[j].Load(); n != 1 {
						t.Errorf("caller %d call %d: task %d ran %d times", g, i, j, n)
					}
				}
				if i%7 == g%7 {
					time.Sleep(time.Duration(i%3) * spinWait)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("calls still waiting after 60 s: a handoff was lost")
	}
	// Every helper leaves once nothing comes: the slots are all free again.
	deadline := time.Now().Add(5 * time.Second)
	for len(w.slots) > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := len(w.slots); n > 0 || w.spinning.Load() != 0 {
		t.Errorf("%d slots still held, %d helpers spinning, after the calls ended", n, w.spinning.Load())
	}
}

// TestParallelAllocs: a call allocates nothing, whether its helper is a
// spinning one or has to be started afresh (calls further apart than
// spinWait).
func TestParallelAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	w := NewWorkers(2)
	var hits atomic.Int32
	f := func(int) { hits.Add(1) }
	w.Parallel(2, f)
	if a := testing.AllocsPerRun(50, func() { w.Parallel(2, f) }); a != 0 {
		t.Errorf("back-to-back calls allocate %v times per call", a)
	}
	if a := testing.AllocsPerRun(20, func() { time.Sleep(3 * spinWait); w.Parallel(2, f) }); a != 0 {
		t.Errorf("calls that start a helper allocate %v times per call", a)
	}
}
