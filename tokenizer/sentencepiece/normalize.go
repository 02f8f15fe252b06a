package sentencepiece

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// spaceSymbol is U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's escaped space.
const spaceSymbol = "\u2581"

// charsMap is a SentencePiece precompiled_charsmap: a Darts-clone double
// array whose leaves point into a block of NUL-terminated replacement
// strings.
type charsMap struct {
	units      []uint32
	normalized []byte
}

// parseCharsMap decodes <trie size uint32 LE><double array><strings>, as
// Normalizer::DecodePrecompiledCharsMap does.
func parseCharsMap(b []byte) (*charsMap, error) {
	if len(b) <= 4 {
		return nil, fmt.Errorf("precompiled_charsmap is broken (%d bytes)", len(b))
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n) >= uint64(len(b)) || n%4 != 0 || n == 0 {
		return nil, fmt.Errorf("precompiled_charsmap trie size %d does not fit its %d bytes", n, len(b))
	}
	b = b[4:]
	units := make([]uint32, n/4)
	for i := range units {
		units[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return &charsMap{units: units, normalized: b[n:]}, nil
}

// longestPrefix returns the replacement for the longest key that is a prefix
// of s and that key's length, or 0 when none matches (Darts-clone's
// commonPrefixSearch, keeping the longest result).
func (c *charsMap) longestPrefix(s string) (repl string, n int) {
	u := c.units
	pos := uint32(0)
	pos ^= dartsOffset(u[0])
	for i := 0; i < len(s); i++ {
		pos ^= uint32(s[i])
		if int(pos) >= len(u) {
			break
		}
		unit := u[pos]
		if dartsLabel(unit) != uint32(s[i]) {
			break
		}
		pos ^= dartsOffset(unit)
		if int(pos) >= len(u) {
			break
		}
		if unit>>8&1 == 1 { // has leaf
			v := int(u[pos] & (1<<31 - 1))
			if r, ok := c.str(v); ok {
				repl, n = r, i+1
			}
		}
	}
	return repl, n
}

// str returns the NUL-terminated string at offset v.
func (c *charsMap) str(v int) (string, bool) {
	if v >= len(c.normalized) {
		return "", false
	}
	b := c.normalized[v:]
	if e := bytes.IndexByte(b, 0); e >= 0 {
		b = b[:e]
	}
	return string(b), true
}

func dartsOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }
func dartsLabel(u uint32) uint32  { return u & (1<<31 | 0xFF) }

// normalizer is SentencePiece's Normalizer for one NormalizerSpec.
type normalizer struct {
	cmap          *charsMap // nil: identity
	user          *prefixMatcher
	addDummy      bool
	removeExtraWS bool
	escapeWS      bool
	wsAsSuffix    bool
}

// prefix returns the normalized form of the longest rule matching the start
// of s and the number of bytes of s it consumes (NormalizePrefix).
func (n *normalizer) prefix(s string) (string, int) {
	if k := n.user.match(s); k > 0 {
		return s[:k], k
	}
	if n.cmap != nil {
		if r, k := n.cmap.longestPrefix(s); k > 0 {
			return r, k
		}
	}
	r, k := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && k <= 1 {
		return "\uFFFD", 1 // a malformed byte becomes U+FFFD, one byte consumed
	}
	return s[:k], k
}

// normalize is Normalizer::Normalize without the offset bookkeeping.
func (n *normalizer) normalize(s string) string {
	if s == "" {
		return ""
	}
	if n.removeExtraWS {
		for s != "" {
			p, k := n.prefix(s)
			if p != " " {
				break
			}
			s = s[k:]
		}
		if s == "" {
			return ""
		}
	}
	var out strings.Builder
	out.Grow(len(s) * 3)
	ws := " "
	if n.escapeWS {
		ws = spaceSymbol
	}
	if !n.wsAsSuffix && n.addDummy {
		out.WriteString(ws)
	}
	prevSpace := n.removeExtraWS
	for s != "" {
		p, k := n.prefix(s)
		for prevSpace && strings.HasPrefix(p, " ") {
			p = p[1:]
		}
		if p != "" {
			for i := 0; i < len(p); i++ {
				if n.escapeWS && p[i] == ' ' {
					out.WriteString(spaceSymbol)
				} else {
					out.WriteByte(p[i])
				}
			}
			prevSpace = strings.HasSuffix(p, " ")
		}
		s = s[k:]
		if !n.removeExtraWS {
			prevSpace = false
		}
	}
	r := out.String()
	if n.removeExtraWS {
		for strings.HasSuffix(r, ws) {
			r = r[:len(r)-len(ws)]
		}
	}
	if n.wsAsSuffix && n.addDummy {
		r += ws
	}
	return r
}

// prefixMatcher finds the longest user-defined symbol at the start of a
// string (normalizer::PrefixMatcher).
type prefixMatcher struct {
	set    map[string]bool
	maxLen int
}

// newPrefixMatcher returns a matcher for syms (nil when there are none).
func newPrefixMatcher(syms []string) *prefixMatcher {
	if len(syms) == 0 {
		return nil
	}
	m := &prefixMatcher{set: make(map[string]bool, len(syms))}
	for _, s := range syms {
		m.set[s] = true
		m.maxLen = max(m.maxLen, len(s))
	}
	return m
}

// match returns the length of the longest symbol prefixing s, or 0.
func (m *prefixMatcher) match(s string) int {
	if m == nil {
		return 0
	}
	for k := min(m.maxLen, len(s)); k > 0; k-- {
		if m.set[s[:k]] {
			return k
		}
	}
	return 0
}

// oneCharLen is SentencePiece's string_util::OneCharLen: the UTF-8 length
// implied by the lead byte, 1 for continuation bytes.
func oneCharLen(b byte) int {
	return int("\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x02\x02\x03\x04"[b>>4])
}
