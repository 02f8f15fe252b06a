package sentencepiece

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// tokenString is a special token in tokenizer_config.json: a string, or an
// AddedToken object {"content": ...} as transformers 4 saved them.
type tokenString struct {
	Set     bool
	Content string
}

func (s *tokenString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		s.Set, s.Content = true, str
		return nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	s.Set, s.Content = true, obj.Content
	return nil
}

// config holds the tokenizer_config.json fields Load applies.
type config struct {
	Class        string      `json:"tokenizer_class"`
	MaxLength    json.Number `json:"model_max_length"`
	PaddingSide  string      `json:"padding_side"`
	DoLowerCase  *bool       `json:"do_lower_case"`
	AddBOS       *bool       `json:"add_bos_token"`
	AddEOS       *bool       `json:"add_eos_token"`
	EOS          tokenString `json:"eos_token"`
	UNK          tokenString `json:"unk_token"`
	PAD          tokenString `json:"pad_token"`
	BOS          tokenString `json:"bos_token"`
	AddedDecoder map[string]struct {
		Content string `json:"content"`
		LStrip  bool   `json:"lstrip"`
		RStrip  bool   `json:"rstrip"`
		Special bool   `json:"special"`
	} `json:"added_tokens_decoder"`
}

// readConfig reads tokenizer_config.json; a missing file is an empty config.
func readConfig(path string) (*config, error) {
	b, err := readFile(path, maxConfigBytes)
	if errors.Is(err, os.ErrNotExist) {
		return &config{}, nil
	}
	if err != nil {
		return nil, err
	}
	c := &config{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, &Error{File: path, Err: err}
	}
	return c, nil
}

// maxLength returns model_max_length when it is a usable length, else def
// (transformers writes 1e30 for "unset").
func (c *config) maxLength(def int) int {
	if c == nil || c.MaxLength == "" {
		return def
	}
	n, err := strconv.ParseInt(string(c.MaxLength), 10, 64)
	if err != nil || n < 1 || n > 1<<16 {
		return def
	}
	return int(n)
}

// tok returns the configured token or def.
func (s tokenString) or(def string) string {
	if s.Set {
		return s.Content
	}
	return def
}

// loadSP loads a spiece.model as SiglipTokenizer (cfg may be nil).
func loadSP(path string, cfg *config) (*Tokenizer, error) {
	b, err := readFile(path, maxModelBytes)
	if err != nil {
		return nil, err
	}
	m, err := parseModelProto(b)
	if err != nil {
		return nil, &Error{File: path, Err: fmt.Errorf("not a SentencePiece model: %w", err)}
	}
	sp, err := newSPModel(m)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	if cfg == nil {
		cfg = &config{}
	}
	t := &Tokenizer{
		sp: sp, cls: "SiglipTokenizer", lower: true, maxLen: cfg.maxLength(64),
		padLeft: cfg.PaddingSide == "left", vocabSize: len(sp.text), addedID: map[string]int32{},
	}
	if cfg.DoLowerCase != nil {
		t.lower = *cfg.DoLowerCase
	}
	eos, unk, pad := cfg.EOS.or("</s>"), cfg.UNK.or("<unk>"), cfg.PAD.or("</s>")
	t.eos, t.pad = sp.pieceToID(eos), sp.pieceToID(pad)
	t.unkText = unk
	// SiglipTokenizer makes its eos, unk and pad tokens AddedTokens with
	// lstrip and rstrip.
	for _, s := range []string{eos, unk, pad} {
		t.addSpecial(s, sp.pieceToID(s), true, true)
	}
	for id, a := range cfg.AddedDecoder {
		n, err := strconv.Atoi(id)
		if err != nil || n < 0 || n >= len(sp.text) || a.Content == "" {
			return nil, &Error{File: path, Err: fmt.Errorf("tokenizer_config.json: added token %q (%q) is not in the model", id, a.Content)}
		}
		if a.Special {
			t.addSpecial(a.Content, int32(n), a.LStrip, a.RStrip)
		}
	}
	t.unkLen = len(sp.encodePieces(unk, nil))
	return t, nil
}

// addSpecial registers a special token once.
func (t *Tokenizer) addSpecial(s string, id int32, lstrip, rstrip bool) {
	if _, ok := t.addedID[s]; ok || s == "" {
		return
	}
	t.addedID[s] = id
	t.added = append(t.added, addedToken{content: s, id: id, lstrip: lstrip, rstrip: rstrip})
}
