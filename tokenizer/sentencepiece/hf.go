package sentencepiece

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// hfModel is a Gemma-style tokenizer.json as transformers' GemmaTokenizer
// runs it: the file's vocabulary, merges, added tokens and post-processor
// in the pipeline the class builds (normalizer Replace(" ", "▁"), BPE with
// byte_fallback and fuse_unk).
type hfModel struct {
	vocab    map[string]int32
	merges   map[[2]int32][2]int32 // pair -> rank, merged id
	unk      int32                 // -1: none
	byteIDs  [256]int32            // -1 where "<0xAB>" is missing
	ignoreMg bool
	added    []hfAdded
	pre      []int32 // template ids before $A
	post     []int32 // and after
	size     int
}

type hfAdded struct {
	addedToken
	normalized bool
}

// hfFile is the part of tokenizer.json this package reads.
type hfFile struct {
	AddedTokens []struct {
		ID         int32  `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         struct {
		Type         string           `json:"type"`
		Vocab        map[string]int32 `json:"vocab"`
		Merges       json.RawMessage  `json:"merges"`
		UnkToken     *string          `json:"unk_token"`
		ByteFallback bool             `json:"byte_fallback"`
		FuseUnk      bool             `json:"fuse_unk"`
		IgnoreMerges bool             `json:"ignore_merges"`
		ContPrefix   *string          `json:"continuing_subword_prefix"`
		EndSuffix    *string          `json:"end_of_word_suffix"`
		Dropout      *float64         `json:"dropout"`
	} `json:"model"`
}

// loadHF loads a tokenizer.json as GemmaTokenizer (cfg may be nil).
func loadHF(path string, cfg *config) (*Tokenizer, error) {
	b, err := readFile(path, maxJSONBytes)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		cfg = &config{}
	}
	var f hfFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, &Error{File: path, Err: err}
	}
	m, err := newHFModel(&f, cfg)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	t := &Tokenizer{
		hf: m, cls: "GemmaTokenizer", maxLen: cfg.maxLength(64), vocabSize: m.size,
		padLeft: cfg.PaddingSide != "right",
	}
	if cfg.Class == "Siglip2Tokenizer" {
		// transformers' class for model_type siglip2: GemmaTokenizer with a
		// Lowercase normalizer before Replace(" ", "▁").
		t.cls, t.lower = cfg.Class, true
	}
	id := func(name, def string) (int32, error) {
		s := name
		if s == "" {
			s = def
		}
		if v, ok := m.vocab[s]; ok {
			return v, nil
		}
		return -1, fmt.Errorf("token %q is not in the vocabulary", s)
	}
	if t.pad, err = id(cfg.PAD.or("<pad>"), "<pad>"); err != nil {
		return nil, &Error{File: path, Err: err}
	}
	if t.eos, err = id(cfg.EOS.or("<eos>"), "<eos>"); err != nil {
		return nil, &Error{File: path, Err: err}
	}
	t.bos, _ = id(cfg.BOS.or("<bos>"), "<bos>")
	if cfg.AddBOS != nil || cfg.AddEOS != nil || m.pre == nil {
		// transformers' update_post_processor: bos? $A eos?
		t.addBOS = cfg.AddBOS != nil && *cfg.AddBOS && t.bos >= 0
		t.addEOS = cfg.AddEOS != nil && *cfg.AddEOS
		return t, nil
	}
	t.addBOS, t.addEOS = len(m.pre) == 1, len(m.post) == 1
	if t.addBOS {
		t.bos = m.pre[0]
	}
	if t.addEOS {
		t.eos = m.post[0]
	}
	return t, nil
}

// newHFModel checks the pipeline is Gemma's and indexes the model.
func newHFModel(f *hfFile, cfg *config) (*hfModel, error) {
	if f.Model.Type != "BPE" {
		return nil, fmt.Errorf("model type %q is not supported (only Gemma's BPE)", f.Model.Type)
	}
	if err := checkGemmaNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if err := checkPreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if p := f.Model.ContPrefix; p != nil && *p != "" {
		return nil, fmt.Errorf("BPE continuing_subword_prefix %q is not supported", *p)
	}
	if s := f.Model.EndSuffix; s != nil && *s != "" {
		return nil, fmt.Errorf("BPE end_of_word_suffix %q is not supported", *s)
	}
	if d := f.Model.Dropout; d != nil && *d != 0 {
		return nil, fmt.Errorf("BPE dropout %v is not supported", *d)
	}
	m := &hfModel{vocab: f.Model.Vocab, unk: -1, ignoreMg: f.Model.IgnoreMerges}
	if len(m.vocab) == 0 {
		return nil, errors.New("the BPE vocabulary is empty")
	}
	maxID := int32(-1)
	for s, id := range m.vocab {
		if id < 0 || s == "" {
			return nil, fmt.Errorf("vocabulary entry %q has id %d", s, id)
		}
		maxID = max(maxID, id)
	}
	unk := "<unk>"
	if f.Model.UnkToken != nil {
		unk = *f.Model.UnkToken
	}
	if cfg.UNK.Set {
		unk = cfg.UNK.Content
	}
	if id, ok := m.vocab[unk]; ok {
		m.unk = id
	}
	for i := range m.byteIDs {
		m.byteIDs[i] = -1
		if id, ok := m.vocab[byteName(byte(i))]; ok {
			m.byteIDs[i] = id
		}
	}
	if err := m.readMerges(f.Model.Merges); err != nil {
		return nil, err
	}
	for _, a := range f.AddedTokens {
		if a.Content == "" || a.ID < 0 {
			return nil, fmt.Errorf("added token %d %q is invalid", a.ID, a.Content)
		}
		if a.SingleWord {
			return nil, fmt.Errorf("added token %q: single_word is not supported", a.Content)
		}
		maxID = max(maxID, a.ID)
		m.added = append(m.added, hfAdded{addedToken{content: a.Content, id: a.ID, lstrip: a.LStrip, rstrip: a.RStrip}, a.Normalized})
		if _, ok := m.vocab[a.Content]; !ok {
			m.vocab[a.Content] = a.ID
		}
	}
	m.size = int(maxID) + 1
	var err error
	if m.pre, m.post, err = readTemplate(f.PostProcessor, m.vocab); err != nil {
		return nil, err
	}
	for _, id := range append(append([]int32{}, m.pre...), m.post...) {
		if id < 0 || int(id) >= m.size {
			return nil, fmt.Errorf("post_processor: special id %d is outside the vocabulary (%d ids)", id, m.size)
		}
	}
	return m, nil
}

// readMerges indexes the merges ("a b" strings, or ["a", "b"] pairs as
// tokenizers 0.20+ writes them) by pair.
func (m *hfModel) readMerges(raw json.RawMessage) error {
	var pairs [][2]string
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		pairs = make([][2]string, len(strs))
		for i, s := range strs {
			a, b, ok := strings.Cut(s, " ")
			if !ok || strings.Contains(b, " ") {
				return fmt.Errorf("merge %d %q is not two tokens", i, s)
			}
			pairs[i] = [2]string{a, b}
		}
	} else if err := json.Unmarshal(raw, &pairs); err != nil {
		return fmt.Errorf("merges are neither \"a b\" strings nor [a, b] pairs: %w", err)
	}
	m.merges = make(map[[2]int32][2]int32, len(pairs))
	for rank, p := range pairs {
		ia, oka := m.vocab[p[0]]
		ib, okb := m.vocab[p[1]]
		im, okm := m.vocab[p[0]+p[1]]
		if !oka || !okb || !okm {
			return fmt.Errorf("merge %d (%q, %q): token not in the vocabulary", rank, p[0], p[1])
		}
		if _, dup := m.merges[[2]int32{ia, ib}]; !dup {
			m.merges[[2]int32{ia, ib}] = [2]int32{int32(rank), im}
		}
	}
	return nil
}

// checkGemmaNormalizer accepts the normalizer GemmaTokenizer builds,
// Replace(" ", "▁"), which is also what transformers runs whatever the file
// says; any other normalizer means the file is not a Gemma tokenizer.
func checkGemmaNormalizer(raw json.RawMessage) error {
	var n struct {
		Type    string `json:"type"`
		Pattern struct {
			String *string `json:"String"`
		} `json:"pattern"`
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return fmt.Errorf("normalizer: %w", err)
	}
	if n.Type == "Replace" && n.Pattern.String != nil && *n.Pattern.String == " " && n.Content == spaceSymbol {
		return nil
	}
	desc := n.Type
	if desc == "" {
		desc = strings.TrimSpace(string(raw))
	}
	return fmt.Errorf("normalizer %s is not Gemma's Replace(\" \", \"▁\") (only Gemma-style tokenizer.json is supported)", desc)
}

// checkPreTokenizer accepts no pre-tokenizer or GemmaTokenizer's
// Split(" ", merged_with_previous) (a no-op after the normalizer).
func checkPreTokenizer(raw json.RawMessage) error {
	if raw == nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	var p struct {
		Type     string `json:"type"`
		Behavior string `json:"behavior"`
		Pattern  struct {
			String *string `json:"String"`
		} `json:"pattern"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("pre_tokenizer: %w", err)
	}
	if p.Type == "Split" && p.Pattern.String != nil && *p.Pattern.String == " " {
		return nil
	}
	return fmt.Errorf("pre_tokenizer %s is not supported (Gemma's tokenizer.json has none)", p.Type)
}

// readTemplate reads a TemplateProcessing post-processor's single-sequence
// template as the special ids around $A. null gives nil, nil.
func readTemplate(raw json.RawMessage, vocab map[string]int32) (pre, post []int32, err error) {
	if raw == nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil, nil
	}
	var p struct {
		Type   string `json:"type"`
		Single []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			}
			Sequence *struct {
				ID string `json:"id"`
			}
		} `json:"single"`
		Special map[string]struct {
			IDs []int32 `json:"ids"`
		} `json:"special_tokens"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, fmt.Errorf("post_processor: %w", err)
	}
	if p.Type != "TemplateProcessing" {
		return nil, nil, fmt.Errorf("post_processor %s is not supported (only TemplateProcessing)", p.Type)
	}
	seen := false
	pre, post = []int32{}, []int32{}
	for _, e := range p.Single {
		switch {
		case e.Sequence != nil && e.Sequence.ID == "A" && !seen:
			seen = true
		case e.SpecialToken != nil:
			ids := p.Special[e.SpecialToken.ID].IDs
			if len(ids) != 1 {
				return nil, nil, fmt.Errorf("post_processor: special token %q needs one id", e.SpecialToken.ID)
			}
			if seen {
				post = append(post, ids[0])
			} else {
				pre = append(pre, ids[0])
			}
		default:
			return nil, nil, errors.New("post_processor: template is not [special…] $A [special…]")
		}
	}
	if !seen || len(pre) > 1 || len(post) > 1 {
		return nil, nil, errors.New("post_processor: only <bos>? $A <eos>? templates are supported")
	}
	return pre, post, nil
}

// lowerRust is the tokenizers library's Lowercase normalizer: Rust's
// char::to_lowercase per character (U+0130 → "i\u0307", no Final_Sigma),
// with the tokenizers build's Unicode tables (rustLower).
func lowerRust(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	t := rustLower[:]
	for _, r := range s {
		if r == 0x130 {
			b.WriteString("i\u0307")
			continue
		}
		i := sort.Search(len(t), func(i int) bool { return t[i][0] >= r })
		if i < len(t) && t[i][0] == r {
			r = t[i][1]
		}
		b.WriteRune(r)
	}
	return b.String()
}
