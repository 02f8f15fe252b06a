// Package sentencepiece is the SentencePiece tokenizer of SigLIP and
// SigLIP 2, giving exactly the ids of transformers 5.24's SiglipTokenizer
// (a spiece.model) and GemmaTokenizer (a Gemma-style tokenizer.json). It
// reads the model files directly (the ModelProto protobuf is decoded by
// hand) and depends on the standard library only.
//
// A spiece.model is encoded as SentencePieceProcessor.encode does: the
// normalizer (precompiled charsmap such as nmt_nfkc, add_dummy_prefix,
// remove_extra_whitespaces, escape_whitespaces, user-defined symbols), then
// the unigram model's Viterbi search (float32 scores, the unknown penalty,
// the user-defined bonus, ties to the first path found) or the BPE model's
// merges by piece score, then byte fallback or merging of unknown runs.
// SiglipTokenizer adds, in this order: every "▁" in the text becomes a
// space and one "▁" is prepended; the text is split on the special tokens
// (</s>, <unk>, and those tokenizer_config.json adds); each other
// part is canonicalised (lowercased by default — transformers applies
// do_lower_case=True for SiglipTokenizer — ASCII punctuation removed, runs
// of white space made one space, stripped) and encoded as the pieces of
// "<unk>"+part after those of "<unk>" alone; a leading "▁" piece before a
// special token is dropped; EOS is appended unless the ids already end with
// it. Lowercasing and white space follow the Python that transformers runs
// (str.lower with its Final_Sigma rule, str.isspace), not Go's unicode
// package. canonicalize_text's keep_punctuation_exact_string is not offered:
// transformers' tokenize always passes None. Unlike GemmaTokenizer's,
// SiglipTokenizer's do_lower_case does take effect (tokenizer_config.json
// may set it false).
//
// A tokenizer.json is encoded as the tokenizers library runs the pipeline
// transformers' GemmaTokenizer builds: added tokens split off, normalizer
// Replace(" ", "▁"), BPE by merge rank with byte fallback and fused
// unknowns, then the post-processor's template (<bos> $A for Gemma; SigLIP
// 2's tokenizer_config.json sets add_bos_token=false, add_eos_token=true,
// giving $A <eos>). transformers 5.24's GemmaTokenizer ignores
// do_lower_case, so this package does too: SigLIP 2's fixed-resolution
// folders (model_type siglip, a Gemma tokenizer.json) load as
// GemmaTokenizer and their text is not lowercased, although the model was
// trained on lower-cased text (lowercase captions yourself to match the
// training rather than transformers). A folder whose tokenizer_config.json names Siglip2Tokenizer
// (transformers' class for model_type siglip2) is lowercased first, as that
// class does, with the tokenizers library's Unicode tables.
//
// Invalid UTF-8 bytes are read as U+FFFD. Texts longer than MaxTextBytes
// are cut to that length (at a character boundary) before encoding.
//
// A Tokenizer is safe for concurrent use.
package sentencepiece

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/goclip/goclip/internal/safefile"
)

// MaxTextBytes bounds the text encoded per call (64 KiB, some 200 times
// the longest caption that fits in 64 tokens): the rest is ignored, which
// bounds time and memory. transformers encodes the whole text, so for a
// longer text the ids can differ — only where a run of more than 64 KiB
// without a word boundary changes the segmentation of its start.
const MaxTextBytes = 64 << 10

// Size limits of the files Load reads.
const (
	maxModelBytes  = 64 << 20  // spiece.model (real ones: 0.8–5 MB)
	maxJSONBytes   = 256 << 20 // tokenizer.json (Gemma's: 34 MB)
	maxConfigBytes = 16 << 20  // tokenizer_config.json
)

// Tokenizer turns text into the token ids of a SigLIP or SigLIP 2 text
// model. Create it with Load.
type Tokenizer struct {
	sp  *spModel // spiece.model, or nil
	hf  *hfModel // tokenizer.json, or nil
	cls string   // the transformers class emulated

	lower   bool
	added   []addedToken
	addedID map[string]int32
	unkText string // "<unk>": the prefix SiglipTokenizer encodes before each part
	unkLen  int    // len(sp.encode(unkText))

	eos, pad, bos  int32
	addBOS, addEOS bool
	maxLen         int
	padLeft        bool
	vocabSize      int
}

// Error reports a file Load cannot use.
type Error struct {
	File string // the file's path
	Err  error
}

func (e *Error) Error() string { return "sentencepiece: " + e.File + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Load reads a tokenizer from path: a spiece.model file (SiglipTokenizer's
// defaults: EOS and padding "</s>", max_length 64, lowercase), a
// tokenizer.json file (GemmaTokenizer's defaults and the file's
// post-processor, max_length 64), or a Hugging Face model folder, whose
// tokenizer_config.json (tokenizer_class, model_max_length, padding_side,
// do_lower_case, the special tokens, add_bos_token / add_eos_token) is
// applied to its spiece.model when tokenizer_class is SiglipTokenizer, or
// else to its tokenizer.json (spiece.model when there is none). Errors
// name the file.
func Load(path string) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	if !st.IsDir() {
		if filepath.Ext(path) == ".json" {
			return loadHF(path, nil)
		}
		return loadSP(path, nil)
	}
	cfg, err := readConfig(filepath.Join(path, "tokenizer_config.json"))
	if err != nil {
		return nil, err
	}
	spPath := filepath.Join(path, "spiece.model")
	jsonPath := filepath.Join(path, "tokenizer.json")
	_, spErr := os.Stat(spPath)
	_, jsonErr := os.Stat(jsonPath)
	switch {
	case spErr == nil && (cfg.Class == "SiglipTokenizer" || jsonErr != nil):
		return loadSP(spPath, cfg)
	case jsonErr == nil:
		return loadHF(jsonPath, cfg)
	}
	return nil, &Error{File: path, Err: errors.New("no spiece.model or tokenizer.json")}
}

// readFile reads at most limit bytes of path.
func readFile(path string, limit int64) ([]byte, error) {
	f, st, err := safefile.Open(path) // regular files only: no FIFO, no /dev/zero
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	defer f.Close()
	if st.Size() > limit {
		return nil, &Error{File: path, Err: fmt.Errorf("%d bytes, more than the %d this package reads", st.Size(), limit)}
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return nil, &Error{File: path, Err: err}
	}
	return b, nil
}

// capText cuts text to MaxTextBytes at a character boundary.
func capText(text string) string {
	if len(text) <= MaxTextBytes {
		return text
	}
	n := MaxTextBytes
	for n > 0 && !utf8.RuneStart(text[n]) {
		n--
	}
	return text[:n]
}

// Encode returns the ids of text as transformers' tokenizer call gives them
// with add_special_tokens (SigLIP: the text's ids and EOS; Gemma: the
// post-processor's template), truncated to MaxLength as truncation=True
// does (keeping the final EOS or BOS the template adds). Encode does not
// pad; SigLIP's text model is run on ids padded to MaxLength, which
// EncodeBatch gives.
func (t *Tokenizer) Encode(text string) []int32 {
	return t.encode(text, t.maxLen)
}

// encode is Encode truncating to limit (no truncation when limit <= 0).
func (t *Tokenizer) encode(text string, limit int) []int32 {
	text = capText(text)
	if t.sp != nil {
		ids := t.siglipTokens(text)
		if limit > 0 && len(ids)+1 > limit {
			ids = ids[:max(limit-1, 0)]
		}
		if len(ids) == 0 || ids[len(ids)-1] != t.eos {
			ids = append(ids, t.eos)
		}
		return ids
	}
	ids := t.hf.encode(text, t.lower)
	var pre, post []int32
	if t.addBOS {
		pre = append(pre, t.bos)
	}
	if t.addEOS {
		post = append(post, t.eos)
	}
	if n := len(pre) + len(post); limit > 0 && len(ids)+n > limit {
		ids = ids[:max(limit-n, 0)]
	}
	out := make([]int32, 0, len(pre)+len(ids)+len(post))
	return append(append(append(out, pre...), ids...), post...)
}

// EncodeBatch encodes every text and pads the rows with Pad to a common
// length: the longest row when padTo ≤ 0, otherwise padTo (rows are first
// truncated to min(padTo, MaxLength), as transformers does with
// padding="max_length", truncation=True, max_length=padTo). SigLIP models
// need padTo = MaxLength. Padding goes on the right, or on the left when
// the tokenizer's padding_side is "left" (GemmaTokenizer's default; SigLIP
// 2's config says "right"). mask is 1 for real tokens and 0 for padding.
func (t *Tokenizer) EncodeBatch(texts []string, padTo int) (ids, mask [][]int32) {
	limit := t.maxLen
	if padTo > 0 && padTo < limit {
		limit = padTo
	}
	ids = make([][]int32, len(texts))
	width := padTo
	for i, s := range texts {
		ids[i] = t.encode(s, limit)
		if padTo <= 0 {
			width = max(width, len(ids[i]))
		}
	}
	mask = make([][]int32, len(texts))
	for i, row := range ids {
		if len(row) > width { // only when width is below the template's special tokens
			row = row[:width]
		}
		n := len(row)
		p, m := make([]int32, width), make([]int32, width)
		off := 0
		if t.padLeft {
			off = width - n
		}
		for j := range p {
			p[j] = t.pad
		}
		copy(p[off:], row)
		for j := off; j < off+n; j++ {
			m[j] = 1
		}
		ids[i], mask[i] = p, m
	}
	return ids, mask
}

// MaxLength returns the length Encode truncates to (64 for SigLIP and
// SigLIP 2).
func (t *Tokenizer) MaxLength() int { return t.maxLen }

// WithMaxLength returns a tokenizer sharing t's model that truncates to n
// tokens (n < 1 is taken as 1).
func (t *Tokenizer) WithMaxLength(n int) *Tokenizer {
	c := *t
	c.maxLen = max(n, 1)
	return &c
}

// Pad returns the padding id ("</s>" for SiglipTokenizer, "<pad>" for
// Gemma).
func (t *Tokenizer) Pad() int32 { return t.pad }

// EOS returns the end-of-sequence id.
func (t *Tokenizer) EOS() int32 { return t.eos }

// VocabSize returns the number of ids of the model.
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// Class returns the transformers tokenizer class Encode reproduces
// ("SiglipTokenizer", "GemmaTokenizer" or "Siglip2Tokenizer").
func (t *Tokenizer) Class() string { return t.cls }
