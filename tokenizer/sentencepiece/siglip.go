package sentencepiece

import "strings"

// addedToken is a transformers AddedToken the text is split on before the
// model sees it.
type addedToken struct {
	content        string
	id             int32
	lstrip, rstrip bool
}

// splitAdded is PreTrainedTokenizer.tokenize's split of text on the added
// tokens (leftmost, then longest match) with their lstrip/rstrip handling:
// the returned parts alternate text and tokens, tok[i] >= 0 marking an added
// token's id.
func splitAdded(text string, added []addedToken) (parts []string, tok []int32) {
	var first [256]bool
	for _, a := range added {
		first[a.content[0]] = true
	}
	for text != "" {
		at, best := -1, -1
		for i := 0; i < len(text) && at < 0; i++ {
			if !first[text[i]] {
				continue
			}
			for k, a := range added {
				if strings.HasPrefix(text[i:], a.content) && (best < 0 || len(a.content) > len(added[best].content)) {
					at, best = i, k
				}
			}
		}
		if at < 0 {
			parts, tok = append(parts, text), append(tok, -1)
			break
		}
		if at > 0 {
			parts, tok = append(parts, text[:at]), append(tok, -1)
		}
		parts, tok = append(parts, added[best].content), append(tok, int32(best))
		text = text[at+len(added[best].content):]
	}
	for i, k := range tok {
		if k < 0 {
			continue
		}
		a := added[k]
		if a.rstrip && i+1 < len(parts) && parts[i+1] != "" {
			parts[i+1] = pyStripLeft(parts[i+1])
		}
		if a.lstrip && i > 0 && parts[i-1] != "" {
			parts[i-1] = pyStripRight(parts[i-1])
		}
	}
	for i, k := range tok {
		if k >= 0 {
			tok[i] = added[k].id
		}
	}
	return parts, tok
}

// spToken is one SentencePiece output: id and piece string.
type spToken struct {
	id    int32
	piece string
}

// siglipTokens is SiglipTokenizer.tokenize + convert_tokens_to_ids, without
// special tokens: "▁" prepended (after every "▁" in text became a space),
// the added tokens split off, each other part canonicalised and encoded as
// the pieces of unk+part after those of unk alone.
func (t *Tokenizer) siglipTokens(text string) []int32 {
	text = spaceSymbol + strings.ReplaceAll(text, spaceSymbol, " ")
	parts, kind := splitAdded(text, t.added)
	var toks []spToken
	for i, p := range parts {
		if p == "" {
			continue
		}
		if kind[i] >= 0 {
			toks = append(toks, spToken{id: kind[i], piece: p})
			continue
		}
		c := canonicalize(p, t.lower)
		all := t.sp.encodePieces(t.unkText+c, nil)
		if len(all) >= t.unkLen {
			all = all[t.unkLen:]
		}
		toks = append(toks, all...)
	}
	if len(toks) > 1 && toks[0].piece == spaceSymbol && t.isSpecial(toks[1].piece) {
		toks = toks[1:]
	}
	ids := make([]int32, len(toks))
	for i, tk := range toks {
		ids[i] = tk.id
		if id, ok := t.addedID[tk.piece]; ok {
			ids[i] = id // convert_tokens_to_ids looks added tokens up first
		}
	}
	return ids
}

// isSpecial reports whether s is one of all_special_tokens.
func (t *Tokenizer) isSpecial(s string) bool {
	_, ok := t.addedID[s]
	return ok
}
