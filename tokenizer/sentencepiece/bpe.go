package sentencepiece

import "container/heap"

// spBPE is SentencePiece's BPE model (bpe::Model): symbols merged greedily
// by the score of the merged piece, ties to the leftmost pair.
type spBPE struct {
	pieces map[string]int32 // NORMAL, USER_DEFINED and UNUSED pieces
	typ    []int32
	score  []float32
	user   *prefixMatcher
	lookup func(string) int32 // PieceToId, unknown -> unk id
}

type bpeSymbol struct {
	prev, next int
	freeze     bool
	start, end int // byte range in the normalized string
}

type bpePair struct {
	left, right int
	score       float32
	size        int
}

// pairHeap orders by score (high first), then left index (low first), as
// SymbolPairComparator in bpe_model.cc.
type pairHeap []bpePair

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].score != h[j].score {
		return h[i].score > h[j].score
	}
	return h[i].left < h[j].left
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(bpePair)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// encode is Model::SampleEncode with alpha = 0.
func (b *spBPE) encode(s string, emit func(id int32, piece string)) {
	if s == "" {
		return
	}
	var syms []bpeSymbol
	for off := 0; off < len(s); {
		n := b.user.match(s[off:])
		freeze := n > 0
		if !freeze {
			n = min(oneCharLen(s[off]), len(s)-off)
		}
		i := len(syms)
		next := i + 1
		if off+n == len(s) {
			next = -1
		}
		syms = append(syms, bpeSymbol{prev: i - 1, next: next, freeze: freeze, start: off, end: off + n})
		off += n
	}
	var agenda pairHeap
	revMerge := map[string][2]string{}
	add := func(l, r int) {
		if l == -1 || r == -1 || syms[l].freeze || syms[r].freeze {
			return
		}
		p := s[syms[l].start:syms[r].end]
		id, ok := b.pieces[p]
		if !ok {
			return
		}
		heap.Push(&agenda, bpePair{left: l, right: r, score: b.score[id], size: len(p)})
		if b.typ[id] == typeUnused {
			revMerge[p] = [2]string{s[syms[l].start:syms[l].end], s[syms[r].start:syms[r].end]}
		}
	}
	for i := 1; i < len(syms); i++ {
		add(i-1, i)
	}
	for agenda.Len() > 0 {
		top := heap.Pop(&agenda).(bpePair)
		l, r := &syms[top.left], &syms[top.right]
		if l.start == l.end || r.start == r.end || (l.end-l.start)+(r.end-r.start) != top.size {
			continue
		}
		l.end = r.end
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = top.left
		}
		r.start, r.end = 0, 0
		add(l.prev, top.left)
		add(top.left, l.next)
	}
	var reseg func(w string)
	reseg = func(w string) {
		id := b.lookup(w)
		if id < 0 || b.typ[id] != typeUnused {
			emit(id, w)
			return
		}
		p, ok := revMerge[w]
		if !ok {
			emit(id, w)
			return
		}
		reseg(p[0])
		reseg(p[1])
	}
	for i := 0; i != -1; i = syms[i].next {
		reseg(s[syms[i].start:syms[i].end])
	}
}
