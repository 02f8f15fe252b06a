package sentencepiece

// kUnkPenalty is unigram_model.cc's penalty of an unknown character below
// the lowest piece score.
const unkPenalty = 10.0

// fltMin is C's FLT_MIN, the initial max_score_ of a unigram model.
const fltMin = 0x1p-126

// unigram is SentencePiece's unigram model (unigram::Model).
type unigram struct {
	prefixes map[string]int32 // every byte prefix of a NORMAL, USER_DEFINED or UNUSED piece: its id, or -1
	typ      []int32
	score    []float32
	unkID    int32
	minScore float32
	maxScore float32
}

func newUnigram(m *modelProto, pieces map[string]int32, unkID int32) *unigram {
	u := &unigram{prefixes: map[string]int32{}, unkID: unkID, minScore: 3.4028234663852886e38, maxScore: fltMin}
	u.typ = make([]int32, len(m.pieces))
	u.score = make([]float32, len(m.pieces))
	for i, p := range m.pieces {
		u.typ[i], u.score[i] = p.typ, p.score
		if p.typ == typeNormal {
			u.minScore = min(u.minScore, p.score)
			u.maxScore = max(u.maxScore, p.score)
		}
	}
	for s, id := range pieces {
		u.prefixes[s] = id
		for n := 1; n < len(s); n++ {
			if _, ok := u.prefixes[s[:n]]; !ok {
				u.prefixes[s[:n]] = -1
			}
		}
	}
	return u
}

// bestNode is the best path ending at one byte position.
type bestNode struct {
	id       int32
	score    float32
	startsAt int32
}

// encode is Model::EncodeOptimized: Viterbi over the pieces prefixing each
// character position, scores added in float32 as the C++ code does, ties
// kept by the first candidate. It returns the pieces' ids and byte lengths.
func (u *unigram) encode(s string, emit func(id int32, piece string)) {
	size := len(s)
	if size == 0 {
		return
	}
	unkScore := u.minScore - unkPenalty
	best := make([]bestNode, size+1)
	for i := range best {
		best[i].startsAt = -1
	}
	for start := 0; start < size; {
		till := best[start].score
		mblen := min(oneCharLen(s[start]), size-start)
		single := false
		for n := 1; start+n <= size; n++ {
			id, ok := u.prefixes[s[start:start+n]]
			if !ok {
				break // no piece starts with these bytes
			}
			if id < 0 || u.typ[id] == typeUnused {
				continue
			}
			var cand float32
			if u.typ[id] == typeUserDefined {
				// (length * max_score_ - 0.1) is a double in C++; the sum is
				// rounded to float once.
				cand = float32(float64(float32(n)*u.maxScore) - 0.1 + float64(till))
			} else {
				cand = u.score[id] + till
			}
			t := &best[start+n]
			if t.startsAt == -1 || cand > t.score {
				*t = bestNode{id: id, score: cand, startsAt: int32(start)}
			}
			if n == mblen {
				single = true
			}
		}
		if !single {
			t := &best[start+mblen]
			cand := unkScore + till
			if t.startsAt == -1 || cand > t.score {
				*t = bestNode{id: u.unkID, score: cand, startsAt: int32(start)}
			}
		}
		start += mblen
	}
	var rev []int32
	for end := size; end > 0; {
		start := best[end].startsAt
		if start < 0 { // unreachable: every character has a path
			return
		}
		rev = append(rev, int32(end))
		end = int(start)
	}
	start := 0
	for i := len(rev) - 1; i >= 0; i-- {
		end := int(rev[i])
		emit(best[end].id, s[start:end])
		start = end
	}
}
