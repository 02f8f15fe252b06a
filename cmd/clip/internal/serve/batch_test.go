package serve

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// gate is a model stand-in for the batching tests whose calls block until
// released, so queue states are reached deterministically; it records
// the inputs of every call.
type gate struct {
	mu      sync.Mutex
	calls   [][]string
	entered chan int
	release chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan int, 100), release: make(chan struct{})} }

func (g *gate) run(ctx context.Context, ins []string) ([][]float32, error) {
	g.mu.Lock()
	g.calls = append(g.calls, ins)
	g.mu.Unlock()
	g.entered <- len(ins)
	<-g.release
	out := make([][]float32, len(ins))
	for i, s := range ins {
		out[i] = []float32{float32(len(s)), 1}
	}
	return out, nil
}

// Concurrent single inputs are gathered into one call up to maxBatch.
func TestBatcherGathers(t *testing.T) {
	g := newGate()
	close(g.release)
	b := newBatcher(8, time.Minute, 64, g.run, nil)
	defer b.stop()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := b.submit(context.Background(), []string{strings.Repeat("x", i)})
			if err != nil || out[0][0] != float32(i) {
				t.Errorf("input %d: %v %v", i, out, err)
			}
		}()
	}
	wg.Wait()
	// maxWait is a minute: only a full batch of 8 can have run.
	if len(g.calls) != 1 || len(g.calls[0]) != 8 {
		t.Fatalf("calls %v", g.calls)
	}
}

// A full queue refuses a request whole; inputs of cancelled requests are
// dropped before their batch runs; stop runs what was queued.
func TestBatcherQueueCancelStop(t *testing.T) {
	g := newGate()
	b := newBatcher(1, time.Millisecond, 2, g.run, nil)
	res := make(chan error, 4)
	go func() { _, err := b.submit(context.Background(), []string{"first"}); res <- err }()
	<-g.entered // "first" is running; the queue is empty
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, err := b.submit(ctx, []string{"cancelled"}); res <- err }()
	for b.depth() != 1 {
		time.Sleep(time.Millisecond)
	}
	if _, err := b.submit(context.Background(), []string{"a", "b"}); !errors.Is(err, errQueueFull) {
		t.Fatalf("2 inputs into 1 free slot: %v", err)
	}
	go func() { _, err := b.submit(context.Background(), []string{"kept"}); res <- err }()
	for b.depth() != 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
	go b.stop()
	for b.submitStopped() == false {
		time.Sleep(time.Millisecond)
	}
	if _, err := b.submit(context.Background(), []string{"late"}); !errors.Is(err, errStopped) {
		t.Fatalf("submit after stop: %v", err)
	}
	close(g.release)
	for range 2 {
		if err := <-res; err != nil {
			t.Fatalf("queued request lost at stop: %v", err)
		}
	}
	for _, c := range g.calls {
		if c[0] == "cancelled" {
			t.Fatalf("a cancelled input was computed: %v", g.calls)
		}
	}
	if len(g.calls) != 2 {
		t.Fatalf("calls %v", g.calls)
	}
}

// gatedServer is a fixture whose text batcher runs on a gate.
func gatedServer(t *testing.T, edit func(*Config)) (*fixture, *gate) {
	f := newFixture(t, edit)
	g := newGate()
	f.srv.texts.stop()
	f.srv.texts = newBatcher(f.srv.cfg.MaxBatch, f.srv.cfg.MaxWait, f.srv.cfg.QueueSize, g.run, f.srv.m.observer("text"))
	return f, g
}

// Over HTTP: a full queue answers 429 with Retry-After and /healthz stays
// responsive; after the backlog clears requests succeed again.
func TestOverload429(t *testing.T) {
	f, g := gatedServer(t, func(c *Config) { c.MaxBatch = 1; c.QueueSize = 2; c.MaxWait = time.Millisecond })
	codes := make(chan int, 3)
	send := func() { codes <- f.post(t, "/v1/embeddings", map[string]any{"model": "tiny", "input": "a"}, nil, nil) }
	go send()
	<-g.entered
	go send()
	go send()
	for f.srv.texts.depth() != 2 {
		time.Sleep(time.Millisecond)
	}
	req, _ := http.NewRequest("POST", f.ts.URL+"/v1/embeddings", strings.NewReader(`{"model":"tiny","input":"a"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("overloaded: %v %d %v", err, resp.StatusCode, resp.Header)
	}
	if resp, err := http.Get(f.ts.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz under overload: %v", err)
	}
	close(g.release)
	for range 3 {
		if c := <-codes; c != 200 {
			t.Fatalf("queued request: %d", c)
		}
	}
	if c := f.post(t, "/v1/embeddings", map[string]any{"model": "tiny", "input": "a"}, nil, nil); c != 200 {
		t.Fatalf("after recovery: %d", c)
	}
}

// Draining: requests in flight when shutdown starts all complete with
// 200, /readyz turns 503, new connections are refused, Shutdown returns.
func TestDrainLosesNothing(t *testing.T) {
	f, g := gatedServer(t, func(c *Config) { c.MaxBatch = 4; c.MaxWait = time.Millisecond })
	const n = 12
	codes := make(chan int, n)
	for range n {
		go func() { codes <- f.post(t, "/v1/embeddings", map[string]any{"model": "tiny", "input": "a"}, nil, nil) }()
	}
	first := <-g.entered // the first batch runs, the rest wait
	for f.srv.texts.depth() != int64(n-first) {
		time.Sleep(time.Millisecond)
	}
	f.srv.Drain()
	if resp, _ := http.Get(f.ts.URL + "/readyz"); resp.StatusCode != 503 {
		t.Fatalf("readyz while draining: %d", resp.StatusCode)
	}
	done := make(chan error)
	go func() { done <- f.ts.Config.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("shutdown returned with requests in flight: %v", err)
	default:
	}
	if _, err := http.Get(f.ts.URL + "/healthz"); err == nil {
		t.Fatal("a new connection was accepted while draining")
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for range n {
		if c := <-codes; c != 200 {
			t.Fatalf("in-flight request got %d", c)
		}
	}
	f.srv.Close()
}
