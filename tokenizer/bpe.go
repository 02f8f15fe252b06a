package tokenizer

import (
	"container/heap"
	"strings"
	"sync"
)

// Bounds of the BPE cache: words up to maxCachedWord bytes, at most
// cacheEntries of them (the tokenizers library caches 10,000 words too).
const (
	maxCachedWord = 64
	cacheEntries  = 10000
	// shortWord is the length up to which the quadratic merge loop is used;
	// longer words use a heap, so that a megabyte of punctuation (one
	// pre-token) stays O(n log n).
	shortWord = 48
)

// bpeCache maps a pre-token to its token ids. It is safe for concurrent use
// and is emptied when full.
type bpeCache struct {
	mu sync.RWMutex
	m  map[string][]int32
}

func (c *bpeCache) get(word string) ([]int32, bool) {
	c.mu.RLock()
	ids, ok := c.m[word]
	c.mu.RUnlock()
	return ids, ok
}

func (c *bpeCache) put(word string, ids []int32) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= cacheEntries {
		c.m = make(map[string][]int32, 256)
	}
	c.m[strings.Clone(word)] = ids // word points into a longer string
	c.mu.Unlock()
}

// appendBPE appends the ids of one pre-token (its bytes mapped to byte-level
// characters, "</w>" on the last one, merges applied lowest rank first and,
// among equal ranks, leftmost first — the order of the tokenizers library).
func (t *Tokenizer) appendBPE(v *vocab, dst []int32, word string) []int32 {
	if len(word) == 0 {
		return dst
	}
	if len(word) <= maxCachedWord {
		if ids, ok := t.cache.get(word); ok {
			return append(dst, ids...)
		}
	}
	var buf [shortWord]int32
	var syms []int32
	if len(word) <= shortWord {
		syms = buf[:len(word)]
	} else {
		syms = make([]int32, len(word))
	}
	for i := 0; i < len(word)-1; i++ {
		syms[i] = v.byteID[word[i]]
	}
	syms[len(word)-1] = v.byteEndID[word[len(word)-1]]
	if len(syms) <= shortWord {
		syms = mergeShort(v, syms)
	} else {
		syms = mergeLong(v, syms)
	}
	if len(word) <= maxCachedWord {
		t.cache.put(word, append([]int32(nil), syms...))
	}
	return append(dst, syms...)
}

// mergeShort applies merges by scanning all adjacent pairs for the best one.
func mergeShort(v *vocab, syms []int32) []int32 {
	for len(syms) > 1 {
		best, bestRank := -1, uint64(1<<63)
		var bestID int32
		for i := 0; i+1 < len(syms); i++ {
			if m, ok := v.merges[pairKey(syms[i], syms[i+1])]; ok && m>>32 < bestRank {
				best, bestRank, bestID = i, m>>32, int32(uint32(m))
			}
		}
		if best < 0 {
			break
		}
		syms[best] = bestID
		syms = append(syms[:best+1], syms[best+2:]...)
	}
	return syms
}

// mergeItem is a candidate merge of the symbol at pos with its right
// neighbour.
type mergeItem struct {
	rank uint32
	pos  int32
	id   int32
}

type mergeHeap []mergeItem

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	return h[i].rank < h[j].rank || h[i].rank == h[j].rank && h[i].pos < h[j].pos
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(mergeItem)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeLong is the heap-based merge of the tokenizers library (word.rs
// merge_all): symbols form a linked list; stale heap entries are skipped.
func mergeLong(v *vocab, syms []int32) []int32 {
	n := len(syms)
	prev := make([]int32, n)
	next := make([]int32, n)
	alive := make([]bool, n)
	h := make(mergeHeap, 0, n)
	for i := range syms {
		prev[i], next[i], alive[i] = int32(i-1), int32(i+1), true
		if i+1 < n {
			if m, ok := v.merges[pairKey(syms[i], syms[i+1])]; ok {
				h = append(h, mergeItem{uint32(m >> 32), int32(i), int32(uint32(m))})
			}
		}
	}
	next[n-1] = -1
	heap.Init(&h)
	push := func(pos int32) {
		nx := next[pos]
		if nx < 0 {
			return
		}
		if m, ok := v.merges[pairKey(syms[pos], syms[nx])]; ok {
			heap.Push(&h, mergeItem{uint32(m >> 32), pos, int32(uint32(m))})
		}
	}
	for h.Len() > 0 {
		top := heap.Pop(&h).(mergeItem)
		p := top.pos
		if !alive[p] || next[p] < 0 {
			continue
		}
		nx := next[p]
		m, ok := v.merges[pairKey(syms[p], syms[nx])]
		if !ok || int32(uint32(m)) != top.id {
			continue // stale entry
		}
		syms[p] = top.id
		alive[nx] = false
		next[p] = next[nx]
		if next[p] >= 0 {
			prev[next[p]] = p
		}
		if prev[p] >= 0 {
			push(prev[p])
		}
		push(p)
	}
	out := syms[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}
