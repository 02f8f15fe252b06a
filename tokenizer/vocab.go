package tokenizer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/goclip/goclip/internal/safefile"
)

// defaultVocabGz is OpenAI's CLIP merge list as shipped in PyPI's
// open_clip_torch wheel (MIT; see LICENSE-bpe-vocab.txt).
//
//go:embed bpe_simple_vocab_16e6.txt.gz
var defaultVocabGz []byte

// Sizes of the CLIP vocabulary: the merge list is cut to the first
// 49152-256-2 merges, giving 256 byte tokens + 256 end-of-word byte tokens
// + 48894 merged tokens + 2 special tokens = 49408 ids.
const (
	clipMerges    = 49152 - 256 - 2
	clipVocabSize = 512 + clipMerges + 2
	endOfWord     = "</w>"
	bosToken      = "<|startoftext|>"
	eosToken      = "<|endoftext|>"
)

// FormatError reports a malformed tokenizer file.
type FormatError struct {
	File string // base name of the file, e.g. "merges.txt"
	Msg  string
}

func (e *FormatError) Error() string { return "tokenizer: " + e.File + ": " + e.Msg }

// vocab is a BPE vocabulary: the token strings and the merge table.
type vocab struct {
	tokens    []string         // id → token string ("" for unused ids)
	ids       map[string]int32 // token string → id
	byteID    [256]int32       // id of the byte-level character of each byte
	byteEndID [256]int32       // id of that character followed by "</w>"
	merges    map[uint64]uint64
}

// pairKey is the merge-table key of two adjacent symbols.
func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bytesToUnicode returns OpenAI's reversible byte → character table: the
// printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100
// onwards, in byte order. order lists the bytes in CLIP's vocabulary order.
func bytesToUnicode() (table [256]rune, order [256]byte) {
	n := 0
	printable := func(b int) bool {
		return '!' <= b && b <= '~' || 0xA1 <= b && b <= 0xAC || 0xAE <= b && b <= 0xFF
	}
	for b := 0; b < 256; b++ {
		if printable(b) {
			table[b] = rune(b)
			order[n] = byte(b)
			n++
		}
	}
	extra := 0
	for b := 0; b < 256; b++ {
		if !printable(b) {
			table[b] = rune(256 + extra)
			extra++
			order[n] = byte(b)
			n++
		}
	}
	return table, order
}

// checkDefaultVocab checks the header of the embedded vocabulary, cheaply.
func checkDefaultVocab() error {
	if _, err := gzip.NewReader(bytes.NewReader(defaultVocabGz)); err != nil {
		return fmt.Errorf("tokenizer: embedded vocabulary: %w", err)
	}
	return nil
}

// defaultVocab builds the vocabulary from the embedded merge list the way
// CLIP's SimpleTokenizer (and every Hugging Face CLIP vocab.json) does:
// the 256 byte characters, the same with "</w>", the merges joined, then
// <|startoftext|> and <|endoftext|>.
func defaultVocab() (*vocab, error) {
	zr, err := gzip.NewReader(bytes.NewReader(defaultVocabGz))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: embedded vocabulary: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: embedded vocabulary: %w", err)
	}
	table, order := bytesToUnicode()
	v := &vocab{
		tokens: make([]string, 0, clipVocabSize),
		ids:    make(map[string]int32, clipVocabSize),
		merges: make(map[uint64]uint64, clipMerges),
	}
	add := func(s string) int32 {
		id := int32(len(v.tokens))
		v.tokens = append(v.tokens, s)
		v.ids[s] = id
		return id
	}
	for _, b := range order {
		v.byteID[b] = add(string(table[b]))
	}
	for _, b := range order {
		v.byteEndID[b] = add(string(table[b]) + endOfWord)
	}
	// The merged tokens are the merge lines without their space; build them
	// all in one string and slice it (one allocation instead of 48,894).
	nl := bytes.IndexByte(raw, '\n') // first line is a version header
	if nl < 0 {
		return nil, errors.New("tokenizer: embedded vocabulary: no merges")
	}
	lines := raw[nl+1:]
	joined := make([]byte, 0, len(lines))
	var cuts [clipMerges][2]int32 // end of the left part, end of the token, in joined
	for rank := 0; rank < clipMerges; rank++ {
		nl := bytes.IndexByte(lines, '\n')
		sp := bytes.IndexByte(lines, ' ')
		if nl < 0 || sp < 0 || sp > nl {
			return nil, fmt.Errorf("tokenizer: embedded vocabulary: merge %d malformed", rank)
		}
		joined = append(joined, lines[:sp]...)
		cuts[rank][0] = int32(len(joined))
		joined = append(joined, lines[sp+1:nl]...)
		cuts[rank][1] = int32(len(joined))
		lines = lines[nl+1:]
	}
	all := string(joined)
	start := int32(0)
	for rank, c := range cuts {
		a, b := all[start:c[0]], all[c[0]:c[1]]
		ida, oka := v.ids[a]
		idb, okb := v.ids[b]
		if !oka || !okb {
			return nil, fmt.Errorf("tokenizer: embedded vocabulary: merge %d (%q %q) uses an unknown token", rank, a, b)
		}
		id := add(all[start:c[1]])
		v.merges[pairKey(ida, idb)] = uint64(rank)<<32 | uint64(uint32(id))
		start = c[1]
	}
	add(bosToken)
	add(eosToken)
	return v, nil
}

// loadVocabFiles reads vocab.json and merges.txt from dir.
func loadVocabFiles(dir string) (*vocab, error) {
	vb, err := safefile.ReadFile(filepath.Join(dir, "vocab.json"), safefile.MaxVocabBytes)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var ids map[string]int32
	if err := json.Unmarshal(vb, &ids); err != nil {
		return nil, &FormatError{"vocab.json", err.Error()}
	}
	mb, err := safefile.ReadFile(filepath.Join(dir, "merges.txt"), safefile.MaxVocabBytes)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var merges [][2]string
	sc := bufio.NewScanner(bytes.NewReader(mb))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimRight(sc.Text(), "\r")
		if line == 1 && strings.HasPrefix(s, "#version") || s == "" {
			continue
		}
		a, b, ok := strings.Cut(s, " ")
		if !ok || strings.Contains(b, " ") {
			return nil, &FormatError{"merges.txt", fmt.Sprintf("line %d: want two tokens separated by a space, got %q", line, s)}
		}
		merges = append(merges, [2]string{a, b})
	}
	if err := sc.Err(); err != nil {
		return nil, &FormatError{"merges.txt", err.Error()}
	}
	return newVocab("vocab.json", "merges.txt", ids, merges)
}

// tokenizerJSON is the part of a tokenizers-library tokenizer.json that a
// CLIPTokenizer takes from it; transformers applies its own normaliser and
// pre-tokeniser whatever the file says.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID      int32  `json:"id"`
		Content string `json:"content"`
	} `json:"added_tokens"`
	Model struct {
		Type   string            `json:"type"`
		Vocab  map[string]int32  `json:"vocab"`
		Merges []json.RawMessage `json:"merges"`
	} `json:"model"`
}

// loadTokenizerJSON reads tokenizer.json from dir.
func loadTokenizerJSON(dir string) (*vocab, error) {
	b, err := safefile.ReadFile(filepath.Join(dir, "tokenizer.json"), safefile.MaxVocabBytes)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var tj tokenizerJSON
	if err := json.Unmarshal(b, &tj); err != nil {
		return nil, &FormatError{"tokenizer.json", err.Error()}
	}
	if tj.Model.Type != "BPE" {
		return nil, &FormatError{"tokenizer.json", fmt.Sprintf("model.type is %q, want \"BPE\"", tj.Model.Type)}
	}
	if tj.Model.Vocab == nil {
		return nil, &FormatError{"tokenizer.json", "no model.vocab"}
	}
	merges := make([][2]string, 0, len(tj.Model.Merges))
	for i, m := range tj.Model.Merges {
		var pair [2]string
		var s string
		var list []string
		switch {
		case json.Unmarshal(m, &s) == nil: // "a b" (older files)
			a, b, ok := strings.Cut(s, " ")
			if !ok || strings.Contains(b, " ") {
				return nil, &FormatError{"tokenizer.json", fmt.Sprintf("model.merges[%d]: bad merge %q", i, s)}
			}
			pair = [2]string{a, b}
		case json.Unmarshal(m, &list) == nil && len(list) == 2: // ["a", "b"]
			pair = [2]string{list[0], list[1]}
		default:
			return nil, &FormatError{"tokenizer.json", fmt.Sprintf("model.merges[%d]: want \"a b\" or [\"a\", \"b\"], got %.40s", i, m)}
		}
		merges = append(merges, pair)
	}
	ids := tj.Model.Vocab
	for _, t := range tj.AddedTokens {
		ids[t.Content] = t.ID
	}
	return newVocab("tokenizer.json", "tokenizer.json", ids, merges)
}

// newVocab builds a vocabulary from a token → id map and a merge list
// (rank = position in the list; a later duplicate replaces an earlier one,
// as in the tokenizers library).
func newVocab(vocabFile, mergesFile string, ids map[string]int32, merges [][2]string) (*vocab, error) {
	v := &vocab{ids: ids, merges: make(map[uint64]uint64, len(merges))}
	maxID := int32(-1)
	for s, id := range ids {
		if id < 0 || id >= 1<<24 {
			return nil, &FormatError{vocabFile, fmt.Sprintf("token %q has id %d, want 0 ≤ id < 2^24", s, id)}
		}
		maxID = max(maxID, id)
	}
	v.tokens = make([]string, maxID+1)
	for s, id := range ids {
		v.tokens[id] = s
	}
	unk, ok := ids[eosToken] // CLIP's unk_token is <|endoftext|>
	if !ok {
		return nil, &FormatError{vocabFile, fmt.Sprintf("no %s token", eosToken)}
	}
	if _, ok := ids[bosToken]; !ok {
		return nil, &FormatError{vocabFile, fmt.Sprintf("no %s token", bosToken)}
	}
	table, _ := bytesToUnicode()
	for b := 0; b < 256; b++ {
		v.byteID[b], v.byteEndID[b] = unk, unk
		if id, ok := ids[string(table[b])]; ok {
			v.byteID[b] = id
		}
		if id, ok := ids[string(table[b])+endOfWord]; ok {
			v.byteEndID[b] = id
		}
	}
	for rank, m := range merges {
		a, oka := ids[m[0]]
		b, okb := ids[m[1]]
		id, okc := ids[m[0]+m[1]]
		if !oka || !okb || !okc {
			return nil, &FormatError{mergesFile, fmt.Sprintf("merge %d (%q %q): token not in the vocabulary", rank, m[0], m[1])}
		}
		v.merges[pairKey(a, b)] = uint64(rank)<<32 | uint64(uint32(id))
	}
	return v, nil
}
