// Package tokenizer is the CLIP byte-level BPE tokenizer, giving exactly the
// ids of transformers 5.17's CLIPTokenizer. It depends on the standard
// library only.
//
// The pipeline, as transformers builds it:
//
//  1. The literal strings <|startoftext|> and <|endoftext|> anywhere in the
//     text become their special ids (exact, case-sensitive matches; the text
//     between them is processed separately).
//  2. Normalisation: NFC, every run of Unicode white space (\s: White_Space,
//     including U+00A0, U+3000, U+2028, U+0085, but not U+200B or U+FEFF)
//     becomes one space, then lowercase code point by code point (Σ → σ
//     always, İ → i + U+0307).
//  3. Pre-tokenisation: the pattern
//     <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+
//     with spaces dropped; a match of one of the two special strings (only
//     possible after lowercasing, e.g. "<|EndOfText|>") is split again by
//     the GPT-2 byte-level pattern into "<|", the word, "|>".
//  4. Each pre-token's UTF-8 bytes become byte-level characters, "</w>" is
//     appended to the last one, and BPE merges are applied.
//  5. <|startoftext|> … <|endoftext|> around the ids, the content truncated
//     to MaxLength-2 so that the final <|endoftext|> is kept.
//
// There is no HTML unescaping and no ftfy: "&amp;" is the three tokens
// "&", "amp", ";". Control characters are ordinary symbols. Invalid UTF-8
// bytes in a Go string are read as U+FFFD.
//
// A Tokenizer is safe for concurrent use.
package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/goclip/goclip/internal/safefile"
)

// DefaultMaxLength is CLIP's context length: BOS, at most 75 tokens, EOS.
const DefaultMaxLength = 77

// Tokenizer turns text into CLIP token ids. Create it with New or Load.
type Tokenizer struct {
	lv     *lazyVocab
	bos    int32
	eos    int32
	pad    int32
	maxLen int
	cache  *bpeCache
}

// lazyVocab is a vocabulary built on first use.
type lazyVocab struct {
	once sync.Once
	load func() (*vocab, error)
	v    *vocab
	err  error
}

// get returns the vocabulary, building it on the first call.
func (l *lazyVocab) get() (*vocab, error) {
	l.once.Do(func() { l.v, l.err = l.load(); l.load = nil })
	return l.v, l.err
}

// New returns the tokenizer of OpenAI's CLIP models (the 49,408-token
// vocabulary embedded in this package), identical to the one in every
// openai/clip-vit-* and laion CLIP folder. New itself is cheap: the
// embedded vocabulary is decompressed and indexed on first use (tens of
// milliseconds, once per Tokenizer).
func New() (*Tokenizer, error) {
	if err := checkDefaultVocab(); err != nil {
		return nil, err
	}
	return &Tokenizer{
		lv:     &lazyVocab{load: defaultVocab},
		bos:    clipVocabSize - 2,
		eos:    clipVocabSize - 1,
		pad:    clipVocabSize - 1,
		maxLen: DefaultMaxLength,
		cache:  &bpeCache{},
	}, nil
}

// Load reads a tokenizer from a Hugging Face model folder: tokenizer.json
// if present, otherwise vocab.json and merges.txt. The pad token and
// model_max_length are taken from special_tokens_map.json or
// tokenizer_config.json when present (a model_max_length outside
// [2, 65536], such as transformers' "unset" value 1e30, is ignored and 77
// used). Errors name the file.
func Load(dir string) (*Tokenizer, error) {
	var v *vocab
	var err error
	if _, statErr := os.Stat(filepath.Join(dir, "tokenizer.json")); statErr == nil {
		v, err = loadTokenizerJSON(dir)
	} else {
		v, err = loadVocabFiles(dir)
	}
	if err != nil {
		return nil, err
	}
	pad, maxLen := eosToken, DefaultMaxLength
	for _, name := range []string{"tokenizer_config.json", "special_tokens_map.json"} {
		b, err := safefile.ReadFile(filepath.Join(dir, name), safefile.MaxConfigBytes)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		var cfg struct {
			PadToken       json.RawMessage `json:"pad_token"`
			ModelMaxLength *float64        `json:"model_max_length"`
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return nil, &FormatError{name, err.Error()}
		}
		if len(cfg.PadToken) > 0 && string(cfg.PadToken) != "null" {
			var s string
			var obj struct {
				Content string `json:"content"`
			}
			switch {
			case json.Unmarshal(cfg.PadToken, &s) == nil:
				pad = s
			case json.Unmarshal(cfg.PadToken, &obj) == nil && obj.Content != "":
				pad = obj.Content
			default:
				return nil, &FormatError{name, "pad_token: want a string or {\"content\": …}"}
			}
		}
		if m := cfg.ModelMaxLength; m != nil && *m >= 2 && *m <= 65536 && *m == float64(int(*m)) {
			maxLen = int(*m)
		}
	}
	if _, ok := v.ids[pad]; !ok {
		return nil, fmt.Errorf("tokenizer: pad token %q is not in the vocabulary of %s", pad, dir)
	}
	lv := &lazyVocab{v: v}
	lv.once.Do(func() {})
	return &Tokenizer{
		lv:     lv,
		bos:    v.ids[bosToken],
		eos:    v.ids[eosToken],
		pad:    v.ids[pad],
		maxLen: maxLen,
		cache:  &bpeCache{},
	}, nil
}

// MaxLength returns the length Encode truncates to (77 for CLIP).
func (t *Tokenizer) MaxLength() int { return t.maxLen }

// WithMaxLength returns a tokenizer sharing t's vocabulary and cache that
// truncates to n tokens (n < 2 is taken as 2: BOS and EOS).
func (t *Tokenizer) WithMaxLength(n int) *Tokenizer {
	c := *t
	c.maxLen = max(n, 2)
	return &c
}

// BOS returns the id of <|startoftext|> (49406 for CLIP).
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the id of <|endoftext|> (49407 for CLIP).
func (t *Tokenizer) EOS() int32 { return t.eos }

// Pad returns the padding id (for the openai and laion CLIP folders, and
// New, <|endoftext|> = 49407).
func (t *Tokenizer) Pad() int32 { return t.pad }

// VocabSize returns the number of ids (49408 for CLIP).
func (t *Tokenizer) VocabSize() int {
	v, err := t.lv.get()
	if err != nil {
		return 0
	}
	return len(v.tokens)
}

// Encode returns the ids of text: BOS, the text's tokens, EOS, truncated to
// MaxLength keeping the final EOS.
//
// (Encode cannot fail: the only possible failure, a corrupt embedded
// vocabulary, which the package tests rule out, gives just BOS, EOS.)
func (t *Tokenizer) Encode(text string) []int32 {
	limit := t.maxLen - 2
	ids := make([]int32, 1, min(t.maxLen, len(text)+2))
	ids[0] = t.bos
	v, err := t.lv.get()
	if err != nil {
		return append(ids, t.eos)
	}
	ids = t.appendContent(v, ids, text, limit+1)
	if len(ids) > limit+1 {
		ids = ids[:limit+1]
	}
	return append(ids, t.eos)
}

// appendContent appends the ids of text to dst, stopping early once dst has
// at least stop ids (the rest would be truncated anyway).
func (t *Tokenizer) appendContent(v *vocab, dst []int32, text string, stop int) []int32 {
	var stack [256]byte
	norm := stack[:0]
	for len(text) > 0 && len(dst) < stop {
		seg, special, rest := nextSpecial(text)
		text = rest
		if seg != "" {
			norm = normalize(norm[:0], seg)
			dst = t.appendWords(v, dst, string(norm), stop)
		}
		switch special {
		case bosToken:
			dst = append(dst, t.bos)
		case eosToken:
			dst = append(dst, t.eos)
		}
	}
	return dst
}

// nextSpecial splits text at the first special-token string: the text before
// it, the special string ("" if none) and the text after it.
func nextSpecial(text string) (before, special, after string) {
	for off := 0; ; {
		i := strings.Index(text[off:], "<|")
		if i < 0 {
			return text, "", ""
		}
		i += off
		for _, s := range [...]string{bosToken, eosToken} {
			if strings.HasPrefix(text[i:], s) {
				return text[:i], s, text[i+len(s):]
			}
		}
		off = i + 2
	}
}

// appendWords pre-tokenises normalised text and appends the BPE ids of each
// pre-token, stopping once dst has at least stop ids.
func (t *Tokenizer) appendWords(v *vocab, dst []int32, s string, stop int) []int32 {
	for i := 0; i < len(s) && len(dst) < stop; {
		start, end := nextPreToken(s, i)
		if start < 0 {
			break
		}
		i = end
		w := s[start:end]
		if w == bosToken || w == eosToken {
			// The GPT-2 pattern of the ByteLevel pre-tokeniser splits the
			// special string: "<|", the word, "|>".
			dst = t.appendBPE(v, dst, w[:2])
			dst = t.appendBPE(v, dst, w[2:len(w)-2])
			dst = t.appendBPE(v, dst, w[len(w)-2:])
			continue
		}
		dst = t.appendBPE(v, dst, w)
	}
	return dst
}

// EncodeBatch encodes every text and pads the rows with Pad to a common
// length: the longest row when padTo ≤ 0, otherwise padTo (rows are first
// truncated to min(padTo, MaxLength), keeping the final EOS, as transformers
// does with padding="max_length", truncation=True, max_length=padTo).
// mask is 1 for real tokens and 0 for padding.
func (t *Tokenizer) EncodeBatch(texts []string, padTo int) (ids, mask [][]int32) {
	enc := t
	if padTo > 0 && padTo < t.maxLen {
		enc = t.WithMaxLength(padTo)
	}
	ids = make([][]int32, len(texts))
	mask = make([][]int32, len(texts))
	width := max(padTo, 0)
	for i, s := range texts {
		ids[i] = enc.Encode(s)
		if padTo <= 0 {
			width = max(width, len(ids[i]))
		}
	}
	for i, row := range ids {
		n := len(row)
		m := make([]int32, width)
		full := make([]int32, width)
		copy(full, row)
		for j := range full {
			if j < n {
				m[j] = 1
			} else {
				full[j] = t.pad
			}
		}
		ids[i], mask[i] = full, m
	}
	return ids, mask
}

// Decode returns the text of ids as transformers' CLIPTokenizer.decode does
// by default: special tokens kept, byte-level characters turned back into
// bytes (invalid UTF-8 becomes U+FFFD), "</w>" replaced by a space, white
// space trimmed at both ends. Unknown ids are skipped.
func (t *Tokenizer) Decode(ids []int32) string {
	v, err := t.lv.get()
	if err != nil {
		return ""
	}
	dec := byteDecoder()
	var b []byte
	for _, id := range ids {
		if id < 0 || int(id) >= len(v.tokens) || v.tokens[id] == "" {
			continue
		}
		tok := v.tokens[id]
		start := len(b)
		ok := true
		for _, r := range tok {
			if r >= 0 && int(r) < len(dec) && dec[r] >= 0 {
				b = append(b, byte(dec[r]))
			} else {
				ok = false
				break
			}
		}
		if !ok { // the tokenizers ByteLevel decoder keeps such a token as is
			b = append(b[:start], tok...)
		}
	}
	s := strings.ReplaceAll(lossyUTF8(b), endOfWord, " ")
	return strings.TrimFunc(s, isPythonSpace)
}

// byteDecoder returns the inverse of bytesToUnicode, indexed by rune (-1 for
// characters that are not byte-level characters).
func byteDecoder() [324]int16 {
	var dec [324]int16
	for i := range dec {
		dec[i] = -1
	}
	table, _ := bytesToUnicode()
	for b, r := range table {
		dec[r] = int16(b)
	}
	return dec
}

// lossyUTF8 converts b to a string as Rust's String::from_utf8_lossy does:
// each maximal invalid subsequence becomes one U+FFFD.
func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r != utf8.RuneError || n > 1 {
			sb.Write(b[:n])
			b = b[n:]
			continue
		}
		sb.WriteRune(utf8.RuneError)
		b = b[maximalSubpart(b):]
	}
	return sb.String()
}

// maximalSubpart returns the length of the maximal prefix of b (which does
// not start with a valid UTF-8 sequence) that could begin one (Unicode §3.9).
func maximalSubpart(b []byte) int {
	c := b[0]
	need, lo, hi := 0, byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}

// isPythonSpace reports whether Python's str.strip() removes r.
func isPythonSpace(r rune) bool {
	return r >= 0x1C && r <= 0x1F || isSpace(r)
}
