package encoder

import "sync"

// Pool is a free list of per-call scratch buffers. Unlike sync.Pool it
// hands a returned buffer to the next caller on any goroutine or P (a
// sync.Pool's per-P private slot is not shared, so a caller that migrated
// between calls would allocate a second set of activations), and it never
// drops buffers at a GC: it holds at most as many as there were
// concurrent calls. The zero value is ready to use.
type Pool[T any] struct {
	mu   sync.Mutex
	free []*T
}

// Get returns a buffer from the list, or a new zero one.
func (p *Pool[T]) Get() *T {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return b
	}
	return new(T)
}

// Put returns b to the list.
func (p *Pool[T]) Put(b *T) {
	p.mu.Lock()
	p.free = append(p.free, b)
	p.mu.Unlock()
}

// Grow returns b resliced to length n, or a new zeroed slice when its
// capacity is too small: the scratch buffers of a pooled set are grown
// with it (contents are not kept).
func Grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}
