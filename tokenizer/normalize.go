package tokenizer

import "unicode/utf8"

// normalize appends to dst the CLIPTokenizer normalisation of s, one segment
// of text between special tokens: NFC, then every run of \s collapsed to a
// single space, then lowercase, in that order (the normalizers.Sequence of
// transformers' CLIPTokenizer). Leading and trailing spaces are kept; the
// pre-tokeniser drops them.
func normalize(dst []byte, s string) []byte {
	if needsNFC(s) {
		s = nfc(s)
	}
	inSpace := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if c == ' ' || '\t' <= c && c <= '\r' {
				if !inSpace {
					dst = append(dst, ' ')
					inSpace = true
				}
				continue
			}
			inSpace = false
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if isSpace(r) {
			if !inSpace {
				dst = append(dst, ' ')
				inSpace = true
			}
			continue
		}
		inSpace = false
		dst = appendLower(dst, r)
	}
	return dst
}

// needsNFC reports whether s may change under NFC. Every code point below
// U+0300 is a starter that NFC leaves alone, and their UTF-8 encodings use
// only bytes below 0xCC.
func needsNFC(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0xCC {
			return true
		}
	}
	return false
}

// nfc returns the canonical composition (Unicode normalisation form C) of s,
// with the Unicode data of the Rust crate the tokenizers library uses.
func nfc(s string) string {
	// Canonical decomposition.
	d := make([]rune, 0, len(s))
	for _, r := range s {
		switch {
		case r >= hangulSBase && r < hangulSBase+hangulSCount:
			si := r - hangulSBase
			d = append(d, hangulLBase+si/hangulNCount, hangulVBase+(si%hangulNCount)/hangulTCount)
			if t := si % hangulTCount; t != 0 {
				d = append(d, hangulTBase+t)
			}
		default:
			if dec := decomposition(r); dec != nil {
				d = append(d, dec...)
			} else {
				d = append(d, r)
			}
		}
	}
	// Canonical ordering: a stable sort of each run of non-starters by class.
	for i := 1; i < len(d); i++ {
		c := combiningClass(d[i])
		if c == 0 {
			continue
		}
		for j := i; j > 0; j-- {
			p := combiningClass(d[j-1])
			if p == 0 || p <= c {
				break
			}
			d[j-1], d[j] = d[j], d[j-1]
		}
	}
	// Canonical composition (Unicode §3.11): a character composes with the
	// last starter unless a character between them has a class of 0 or one
	// not lower than its own. After canonical ordering the characters kept
	// between the starter and the current one are non-starters in ascending
	// class order, so only the last one's class (last) matters.
	starter := -1
	var last uint8
	out := 0
	for _, r := range d {
		c := combiningClass(r)
		if starter >= 0 && (out-1 == starter || last != 0 && last < c) {
			if comp, ok := compose(d[starter], r); ok {
				d[starter] = comp
				continue
			}
		}
		if c == 0 {
			starter = out
		}
		last = c
		d[out] = r
		out++
	}
	return string(d[:out])
}
