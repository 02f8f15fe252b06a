package sentencepiece

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// The Python string operations SiglipTokenizer.canonicalize_text uses,
// with the Unicode data of the Python that transformers runs
// (pyunicode_tables.go, measured by tools/goldens/sentencepiece.py tables).

// inRanges reports whether r is in the sorted, disjoint ranges rs.
func inRanges(rs [][2]rune, r rune) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i][1] >= r })
	return i < len(rs) && rs[i][0] <= r
}

// pyIsSpace is str.isspace for one code point.
func pyIsSpace(r rune) bool { return inRanges(pySpace[:], r) }

// pyLowerRune is the lowercase of one code point other than U+0130 and
// U+03A3.
func pyLowerRune(r rune) rune {
	t := pyLower[:]
	i := sort.Search(len(t), func(i int) bool { return t[i][0] >= r })
	if i < len(t) && t[i][0] == r {
		return t[i][1]
	}
	return r
}

// pyLowerString is Python's str.lower: full lowercase mapping (U+0130 →
// "i\u0307") and U+03A3 → ς in the Final_Sigma context, σ elsewhere.
func pyLowerString(s string) string {
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range rs {
		switch r {
		case 0x130:
			b.WriteString("i\u0307")
		case 0x3A3:
			b.WriteRune(finalSigma(rs, i))
		default:
			b.WriteRune(pyLowerRune(r))
		}
	}
	return b.String()
}

// finalSigma is CPython's handle_capital_sigma: ς when a cased letter
// precedes (skipping case-ignorable ones) and none follows.
func finalSigma(rs []rune, i int) rune {
	j := i - 1
	for j >= 0 && inRanges(pyCaseIgnorable[:], rs[j]) {
		j--
	}
	final := j >= 0 && inRanges(pyCased[:], rs[j])
	if final && i+1 < len(rs) {
		j = i + 1
		for j < len(rs) && inRanges(pyCaseIgnorable[:], rs[j]) {
			j++
		}
		final = j == len(rs) || !inRanges(pyCased[:], rs[j])
	}
	if final {
		return 0x3C2
	}
	return 0x3C3
}

// isASCIIPunct is membership in Python's string.punctuation.
func isASCIIPunct(r rune) bool {
	return r < utf8.RuneSelf && strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", byte(r)) >= 0
}

// canonicalize is SiglipTokenizer.canonicalize_text with
// keep_punctuation_exact_string=None: optional str.lower(), ASCII
// punctuation removed, every run of white space (re's \s) replaced by one
// space, str.strip().
func canonicalize(s string, lower bool) string {
	if lower {
		s = pyLowerString(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	inSpace := false
	for _, r := range s {
		switch {
		case isASCIIPunct(r):
			continue
		case pyIsSpace(r):
			if !inSpace {
				b.WriteByte(' ')
			}
			inSpace = true
			continue
		}
		inSpace = false
		b.WriteRune(r)
	}
	return strings.Trim(b.String(), " ")
}

// pyStripLeft and pyStripRight are str.lstrip() and str.rstrip().
func pyStripLeft(s string) string  { return strings.TrimLeftFunc(s, pyIsSpace) }
func pyStripRight(s string) string { return strings.TrimRightFunc(s, pyIsSpace) }
