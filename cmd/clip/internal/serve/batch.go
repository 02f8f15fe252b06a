package serve

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// A batcher gathers single inputs from concurrent requests into model
// calls of at most maxBatch inputs: a batch starts when the first input
// arrives and runs when it is full or maxWait has passed. The queue is
// bounded (queueCap inputs waiting); an input whose request was cancelled
// or timed out before its batch ran is dropped, not computed.

// errQueueFull is returned by submit when the queue cannot take a
// request's inputs: the handler answers 429 with Retry-After.
var errQueueFull = errors.New("queue full")

// errStopped is returned after stop: the handler answers 503.
var errStopped = errors.New("server shutting down")

type task[In any] struct {
	ctx  context.Context
	in   In
	out  []float32
	err  error
	done chan struct{}
}

type batcher[In any] struct {
	run      func(ctx context.Context, ins []In) ([][]float32, error)
	maxBatch int
	maxWait  time.Duration
	queueCap int64
	queue    chan *task[In]
	queued   atomic.Int64
	observe  func(batch int, queued int64, d time.Duration) // metrics hook
	mu       sync.RWMutex                                   // guards stopped against submit
	stopped  bool
	wg       sync.WaitGroup
}

func newBatcher[In any](maxBatch int, maxWait time.Duration, queueCap int, run func(context.Context, []In) ([][]float32, error), observe func(int, int64, time.Duration)) *batcher[In] {
	b := &batcher[In]{run: run, maxBatch: maxBatch, maxWait: maxWait, queueCap: int64(queueCap),
		queue: make(chan *task[In], queueCap), observe: observe}
	b.wg.Add(1)
	go b.loop()
	return b
}

// submit queues all inputs of one request (or none, when the queue cannot
// take them all) and waits for their embeddings or ctx.
func (b *batcher[In]) submit(ctx context.Context, ins []In) ([][]float32, error) {
	b.mu.RLock()
	if b.stopped {
		b.mu.RUnlock()
		return nil, errStopped
	}
	if b.queued.Add(int64(len(ins))) > b.queueCap {
		b.queued.Add(-int64(len(ins)))
		b.mu.RUnlock()
		return nil, errQueueFull
	}
	tasks := make([]*task[In], len(ins))
	for i, in := range ins {
		tasks[i] = &task[In]{ctx: ctx, in: in, done: make(chan struct{})}
		b.queue <- tasks[i] // never blocks: queued ≤ queueCap = cap(queue)
	}
	b.mu.RUnlock()
	out := make([][]float32, len(ins))
	for i, t := range tasks {
		select {
		case <-t.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if t.err != nil {
			return nil, t.err
		}
		out[i] = t.out
	}
	return out, nil
}

// submitStopped reports whether stop has begun (for tests).
func (b *batcher[In]) submitStopped() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.stopped
}

// depth is the number of inputs waiting.
func (b *batcher[In]) depth() int64 { return b.queued.Load() }

// stop refuses new inputs, lets the queued ones run, and returns when the
// loop has finished them.
func (b *batcher[In]) stop() {
	b.mu.Lock()
	if !b.stopped {
		b.stopped = true
		close(b.queue)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *batcher[In]) loop() {
	defer b.wg.Done()
	for first := range b.queue {
		batch := []*task[In]{first}
		timer := time.NewTimer(b.maxWait)
	gather:
		for len(batch) < b.maxBatch {
			select {
			case t, ok := <-b.queue:
				if !ok {
					break gather
				}
				batch = append(batch, t)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		b.queued.Add(-int64(len(batch)))
		b.runBatch(batch)
	}
}

func (b *batcher[In]) runBatch(batch []*task[In]) {
	live := batch[:0:0]
	var ins []In
	for _, t := range batch {
		if err := t.ctx.Err(); err != nil {
			t.err = err
			close(t.done)
			continue
		}
		live = append(live, t)
		ins = append(ins, t.in)
	}
	if len(live) == 0 {
		return
	}
	start := time.Now()
	// The batch serves several requests: it runs to completion even if
	// one of them is cancelled meanwhile.
	outs, err := b.run(context.Background(), ins)
	if b.observe != nil {
		b.observe(len(live), b.queued.Load(), time.Since(start))
	}
	for i, t := range live {
		if err != nil {
			t.err = err
		} else {
			t.out = outs[i]
		}
		close(t.done)
	}
}
