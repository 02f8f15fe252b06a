package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// nextPreToken finds the next match at or after byte i of the CLIP pattern
//
//	<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+
//
// in normalised text s, with the leftmost-first alternation of the regex
// engine, and returns its bounds (start = -1 when there is none). Every
// non-space character starts a match, so this is a single forward scan:
// no backtracking, linear in the text.
func nextPreToken(s string, i int) (start, end int) {
	for i < len(s) {
		r, n := decodeRune(s, i)
		if isSpace(r) {
			i += n
			continue
		}
		start = i
		switch {
		case r == '<' && (strings.HasPrefix(s[i:], bosToken) || strings.HasPrefix(s[i:], eosToken)):
			if strings.HasPrefix(s[i:], bosToken) {
				return i, i + len(bosToken)
			}
			return i, i + len(eosToken)
		case r == '\'':
			if n := contraction(s[i+1:]); n > 0 {
				return i, i + 1 + n
			}
		case isLetter(r):
			j := i + n
			for j < len(s) {
				r, n := decodeRune(s, j)
				if !isLetter(r) {
					break
				}
				j += n
			}
			return i, j
		case isNumber(r):
			return i, i + n
		}
		j := i + n
		for j < len(s) {
			r, n := decodeRune(s, j)
			if isSpace(r) || isLetter(r) || isNumber(r) {
				break
			}
			j += n
		}
		return start, j
	}
	return -1, -1
}

// contraction returns the length of the contraction suffix (s, t, re, ve,
// m, ll, d) at the start of s after an apostrophe, or 0.
func contraction(s string) int {
	if len(s) == 0 {
		return 0
	}
	switch s[0] {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if len(s) > 1 && s[1] == 'e' {
			return 2
		}
	case 'l':
		if len(s) > 1 && s[1] == 'l' {
			return 2
		}
	}
	return 0
}

// decodeRune decodes the rune at byte i of s, with an ASCII fast path.
func decodeRune(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}
