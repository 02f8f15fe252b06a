package encoder

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/goclip/goclip/tensor"
)

// Encoder is CLIPEncoder: a stack of Layers. It is immutable after Load and
// safe for concurrent use; scratch buffers come from an internal pool.
type Encoder struct {
	cfg    Config
	layers []*Layer
	pool   sync.Pool // *scratch
}

// Load reads prefix+"layers.{i}." for i < cfg.Layers
// (prefix is e.g. "vision_model.encoder.").
func Load(st tensor.Store, prefix string, cfg Config) (*Encoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Encoder{cfg: cfg, layers: make([]*Layer, cfg.Layers)}
	for i := range e.layers {
		l, err := loadLayer(st, fmt.Sprintf("%slayers.%d.", prefix, i), &e.cfg)
		if err != nil {
			return nil, err
		}
		e.layers[i] = l
		// The layer holds packed copies of its matrices: a memory-mapped
		// store may release the pages read for it, which keeps the peak
		// resident memory of loading near one copy of the model.
		if d, ok := st.(interface{ DropPages() }); ok {
			d.DropPages()
		}
	}
	return e, nil
}

// Config returns the encoder's shape.
func (e *Encoder) Config() Config { return e.cfg }

// Forward runs every layer over x [sum(lens), width] in place; lens are the
// lengths of the packed sequences. If hidden is not nil it is called with x
// before the first layer (index 0) and after each layer i (index i+1); the
// slice is only valid during the call. Forward returns ctx.Err() if the
// context is cancelled between layers.
func (e *Encoder) Forward(ctx context.Context, x []float32, lens []int, hidden func(index int, x []float32)) error {
	rows := sum(lens)
	if len(x) < rows*e.cfg.Width {
		return fmt.Errorf("encoder: input has %d values, want %d×%d", len(x), rows, e.cfg.Width)
	}
	s := e.getScratch(rows)
	defer e.pool.Put(s)
	if hidden != nil {
		hidden(0, x[:rows*e.cfg.Width])
	}
	for i, l := range e.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.forward(x, lens, s, &e.cfg)
		if hidden != nil {
			hidden(i+1, x[:rows*e.cfg.Width])
		}
	}
	return nil
}

// scratch holds the per-call activations of one Forward.
type scratch struct {
	h, o, ctx []float32 // [rows, width]
	qkv       []float32 // [rows, 3·width]
	mid       []float32 // [rows, intermediate]
}

func (e *Encoder) getScratch(rows int) *scratch {
	s, _ := e.pool.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	n := rows * e.cfg.Width
	s.h = grow(s.h, n)
	s.o = grow(s.o, n)
	s.ctx = grow(s.ctx, n)
	s.qkv = grow(s.qkv, 3*n)
	s.mid = grow(s.mid, rows*e.cfg.Intermediate)
	return s
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

func sum(lens []int) int {
	n := 0
	for _, l := range lens {
		n += l
	}
	return n
}

func offset(lens []int, i int) int {
	return sum(lens[:i])
}

// parallel runs f(0…n-1) on at most GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// Parallel runs f(0…n-1) on at most GOMAXPROCS goroutines; for the towers'
// per-sequence work (embeddings, pooling).
func Parallel(n int, f func(i int)) { parallel(n, f) }
