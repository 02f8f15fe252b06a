package sentencepiece

import (
	"container/heap"
	"strings"
	"unicode"
	"unicode/utf8"
)

// encode returns the ids of text without the template: added tokens split
// off (those with normalized=false on the raw text, the others on the
// normalized text), each other part normalized and encoded by BPE.
func (m *hfModel) encode(text string, lower bool) []int32 {
	text = validUTF8(text)
	var raw, norm []addedToken
	for _, a := range m.added {
		if a.normalized {
			a.content = m.normalize(a.content, lower)
			norm = append(norm, a.addedToken)
		} else {
			raw = append(raw, a.addedToken)
		}
	}
	var ids []int32
	for _, seg := range splitHF(text, raw) {
		if seg.id >= 0 {
			ids = append(ids, seg.id)
			continue
		}
		for _, s := range splitHF(m.normalize(seg.text, lower), norm) {
			if s.id >= 0 {
				ids = append(ids, s.id)
			} else {
				ids = m.bpe(s.text, ids)
			}
		}
	}
	return ids
}

// normalize is GemmaTokenizer's normalizer (Siglip2Tokenizer's with lower).
func (m *hfModel) normalize(s string, lower bool) string {
	if lower {
		s = lowerRust(s)
	}
	return strings.ReplaceAll(s, " ", spaceSymbol)
}

// hfSegment is a part of the text: an added token (id >= 0) or text.
type hfSegment struct {
	text string
	id   int32
}

// splitHF is the tokenizers library's AddedVocabulary split: leftmost-longest
// matches of the added tokens, lstrip/rstrip taking the white space next to
// a match into it.
func splitHF(text string, added []addedToken) []hfSegment {
	if len(added) == 0 {
		if text == "" {
			return nil
		}
		return []hfSegment{{text: text, id: -1}}
	}
	var first [256]bool
	for _, a := range added {
		first[a.content[0]] = true
	}
	var out []hfSegment
	prev := 0
	for i := 0; i < len(text); {
		if !first[text[i]] {
			i++
			continue
		}
		best := -1
		for k, a := range added {
			if strings.HasPrefix(text[i:], a.content) && (best < 0 || len(a.content) > len(added[best].content)) {
				best = k
			}
		}
		if best < 0 {
			i++
			continue
		}
		a := added[best]
		start, end := i, i+len(a.content)
		if a.lstrip {
			start = prev + len(strings.TrimRightFunc(text[prev:start], unicode.IsSpace))
		}
		if a.rstrip {
			end = len(text) - len(strings.TrimLeftFunc(text[end:], unicode.IsSpace))
		}
		if start > prev {
			out = append(out, hfSegment{text: text[prev:start], id: -1})
		}
		out = append(out, hfSegment{id: a.id})
		prev, i = end, end
	}
	if prev < len(text) {
		out = append(out, hfSegment{text: text[prev:], id: -1})
	}
	return out
}

// hfSym is one symbol of a BPE word (tokenizers' Symbol).
type hfSym struct {
	id         int32
	prev, next int
	n          int // byte length; 0 once merged away
}

// hfMerge is a queued merge (tokenizers' Merge): lowest rank, then lowest
// position first.
type hfMerge struct {
	pos      int
	rank, id int32
}

type mergeHeap []hfMerge

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(hfMerge)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// bpe appends the ids of one word (BPE::merge_word and Word::merge_all).
func (m *hfModel) bpe(w string, dst []int32) []int32 {
	if w == "" {
		return dst
	}
	if m.ignoreMg {
		if id, ok := m.vocab[w]; ok {
			return append(dst, id)
		}
	}
	syms := m.symbols(w)
	var q mergeHeap
	for i := 0; i+1 < len(syms); i++ {
		if mg, ok := m.merges[[2]int32{syms[i].id, syms[i+1].id}]; ok {
			q = append(q, hfMerge{pos: i, rank: mg[0], id: mg[1]})
		}
	}
	heap.Init(&q)
	for q.Len() > 0 {
		top := heap.Pop(&q).(hfMerge)
		if syms[top.pos].n == 0 || syms[top.pos].next == -1 {
			continue
		}
		nextPos := syms[top.pos].next
		right := syms[nextPos]
		if mg, ok := m.merges[[2]int32{syms[top.pos].id, right.id}]; !ok || mg[1] != top.id {
			continue // an expired queue entry
		}
		cur := &syms[top.pos]
		cur.id, cur.n, cur.next = top.id, cur.n+right.n, right.next
		syms[nextPos].n = 0
		if right.next > -1 && right.next < len(syms) {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if mg, ok := m.merges[[2]int32{syms[cur.prev].id, cur.id}]; ok {
				heap.Push(&q, hfMerge{pos: cur.prev, rank: mg[0], id: mg[1]})
			}
		}
		if cur.next >= 0 && cur.next < len(syms) {
			if mg, ok := m.merges[[2]int32{cur.id, syms[cur.next].id}]; ok {
				heap.Push(&q, hfMerge{pos: top.pos, rank: mg[0], id: mg[1]})
			}
		}
	}
	for _, s := range syms {
		if s.n != 0 {
			dst = append(dst, s.id)
		}
	}
	return dst
}

// symbols builds the initial word: one symbol per character in the
// vocabulary, else its byte pieces (byte_fallback), else <unk> (runs fused;
// a pending <unk> is only flushed by a known character or the end, as the
// tokenizers code does).
func (m *hfModel) symbols(w string) []hfSym {
	syms := make([]hfSym, 0, len(w))
	add := func(id int32, n int) {
		i := len(syms)
		if i > 0 {
			syms[i-1].next = i
		}
		syms = append(syms, hfSym{id: id, prev: i - 1, next: -1, n: n})
	}
	unkID, unkLen := int32(-1), 0
	for i := 0; i < len(w); {
		_, k := utf8.DecodeRuneInString(w[i:])
		c := w[i : i+k]
		i += k
		if id, ok := m.vocab[c]; ok {
			if unkID >= 0 {
				add(unkID, unkLen)
				unkID = -1
			}
			add(id, k)
			continue
		}
		if m.bytesKnown(c) {
			for j := 0; j < len(c); j++ {
				add(m.byteIDs[c[j]], 1)
			}
			continue
		}
		if m.unk < 0 {
			continue // tokenizers fails here; such a file has no <unk>
		}
		if unkID >= 0 {
			unkLen += k // fuse_unk
			continue
		}
		unkID, unkLen = m.unk, k
	}
	if unkID >= 0 {
		add(unkID, unkLen)
	}
	return syms
}

// bytesKnown reports whether every byte of c has a byte piece.
func (m *hfModel) bytesKnown(c string) bool {
	for j := 0; j < len(c); j++ {
		if m.byteIDs[c[j]] < 0 {
			return false
		}
	}
	return true
}

// validUTF8 replaces every invalid byte of s by U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}
