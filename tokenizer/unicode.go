package tokenizer

import (
	"sort"
	"unicode/utf8"
)

// runeRange is an inclusive range of code points.
type runeRange struct{ lo, hi rune }

// cccRange gives the canonical combining class of an inclusive range.
type cccRange struct {
	lo, hi rune
	class  uint8
}

// lowerMapping is a lowercase mapping longer than one code point.
type lowerMapping struct {
	r     rune
	lower string
}

// inRanges reports whether r lies in one of the sorted ranges.
func inRanges(r rune, rs []runeRange) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].hi >= r })
	return i < len(rs) && rs[i].lo <= r
}

// isLetter reports whether r matches \p{L} in the pre-tokenisation pattern.
func isLetter(r rune) bool {
	if r < 0x80 {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	}
	return inRanges(r, letterRanges)
}

// isNumber reports whether r matches \p{N}.
func isNumber(r rune) bool {
	if r < 0x80 {
		return '0' <= r && r <= '9'
	}
	return inRanges(r, numberRanges)
}

// isSpace reports whether r matches \s (Unicode White_Space).
func isSpace(r rune) bool {
	if r < 0x80 {
		return r == ' ' || '\t' <= r && r <= '\r'
	}
	return inRanges(r, spaceRanges)
}

// appendLower appends the lowercase of r (Rust's char::to_lowercase, which
// the Lowercase normaliser applies code point by code point: no final-sigma
// rule, U+0130 becomes "i\u0307").
func appendLower(dst []byte, r rune) []byte {
	if r < 0x80 {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, byte(r))
	}
	i := sort.Search(len(lowerPairs), func(i int) bool { return lowerPairs[i][0] >= r })
	if i < len(lowerPairs) && lowerPairs[i][0] == r {
		return utf8.AppendRune(dst, lowerPairs[i][1])
	}
	for _, m := range lowerMulti {
		if m.r == r {
			return append(dst, m.lower...)
		}
	}
	return utf8.AppendRune(dst, r)
}

// combiningClass returns the canonical combining class of r.
func combiningClass(r rune) uint8 {
	if r < 0x300 {
		return 0
	}
	i := sort.Search(len(cccRanges), func(i int) bool { return cccRanges[i].hi >= r })
	if i < len(cccRanges) && cccRanges[i].lo <= r {
		return cccRanges[i].class
	}
	return 0
}

// decomposition returns the full canonical decomposition of r (nil when r
// has none; Hangul syllables are handled algorithmically by the caller).
func decomposition(r rune) []rune {
	if r < 0xC0 {
		return nil
	}
	i := sort.Search(len(decompKeys), func(i int) bool { return decompKeys[i] >= r })
	if i < len(decompKeys) && decompKeys[i] == r {
		x := decompIndex[i]
		off, n := x>>8, x&0xFF
		return decompData[off : off+n]
	}
	return nil
}

// Hangul syllable constants (Unicode §3.12).
const (
	hangulSBase  = 0xAC00
	hangulLBase  = 0x1100
	hangulVBase  = 0x1161
	hangulTBase  = 0x11A7
	hangulLCount = 19
	hangulVCount = 21
	hangulTCount = 28
	hangulNCount = hangulVCount * hangulTCount
	hangulSCount = hangulLCount * hangulNCount
)

// compose returns the primary composite of a and b, if any.
func compose(a, b rune) (rune, bool) {
	if a >= hangulLBase && a < hangulLBase+hangulLCount && b >= hangulVBase && b < hangulVBase+hangulVCount {
		return hangulSBase + ((a-hangulLBase)*hangulVCount+(b-hangulVBase))*hangulTCount, true
	}
	if a >= hangulSBase && a < hangulSBase+hangulSCount && (a-hangulSBase)%hangulTCount == 0 &&
		b > hangulTBase && b < hangulTBase+hangulTCount {
		return a + (b - hangulTBase), true
	}
	i := sort.Search(len(compositions), func(i int) bool {
		c := compositions[i]
		return c[0] > a || c[0] == a && c[1] >= b
	})
	if i < len(compositions) && compositions[i][0] == a && compositions[i][1] == b {
		return compositions[i][2], true
	}
	return 0, false
}
