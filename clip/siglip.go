package clip

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/tensor"
	"github.com/goclip/goclip/tokenizer/sentencepiece"
)

// textTokenizer is the tokenizer of a model family other than CLIP's BPE
// (SigLIP's SentencePiece).
type textTokenizer interface {
	Encode(text string) []int32
	MaxLength() int
	Pad() int32
}

// loadLogitBias reads logit_bias where the family has one: SigLIP always,
// OpenCLIP when its config sets init_logit_bias. Such a model's
// probabilities are sigmoids.
func (m *Model) loadLogitBias(st tensor.Store) error {
	if !m.cfg.sigLIP() && !m.cfg.logitBias {
		return nil
	}
	b, err := encoder.Tensor(st, "logit_bias")
	if err != nil {
		return err
	}
	m.logitBias, m.sigmoid = b[0], true
	return nil
}

// loadTokenizer gives the model its tokenizer: CLIP's BPE (the folder's
// files or the built-in vocabulary; OpenCLIP truncates to its
// context_length), or for SigLIP the folder's SentencePiece model.
func (m *Model) loadTokenizer(dir string) error {
	if m.cfg.sigLIP() {
		return m.loadSigLIPTokenizer(dir)
	}
	t, err := loadTokenizer(dir, m.cfg.TextConfig.VocabSize)
	if err != nil {
		return err
	}
	if mx := m.cfg.TextConfig.MaxPositionEmbeddings; m.cfg.Family == FamilyOpenCLIP && t.MaxLength() != mx {
		t = t.WithMaxLength(mx)
	}
	m.tok = t
	return nil
}

// loadSigLIPTokenizer reads the folder's SentencePiece tokenizer
// (spiece.model with SiglipTokenizer's rules, or SigLIP 2's Gemma
// tokenizer.json; see package sentencepiece), truncating to the text
// tower's length. A folder with neither file loads without a tokenizer:
// EmbedTexts then fails with errNoSigLIPTokenizer, EmbedTokens works.
func (m *Model) loadSigLIPTokenizer(dir string) error {
	found := false
	for _, f := range []string{"spiece.model", "tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			found = true
		}
	}
	if !found {
		return nil
	}
	t, err := sentencepiece.Load(dir)
	if err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	if mx := m.cfg.TextConfig.MaxPositionEmbeddings; t.MaxLength() > mx {
		t = t.WithMaxLength(mx)
	}
	m.spm = t
	return nil
}

var errNoSigLIPTokenizer = errors.New("clip: EmbedTexts: SigLIP tokenizer (spiece.model / tokenizer.json) not available; use EmbedTokens")

// Tokenize returns the ids EmbedTexts embeds for text: CLIP's BPE
// (BOS … EOS, truncated to the context length) or SigLIP's SentencePiece
// ids (… EOS, unpadded; EmbedTokens pads them).
func (m *Model) Tokenize(text string) ([]int32, error) { return m.encode(text) }

// encode tokenizes one text with the model's tokenizer.
func (m *Model) encode(text string) ([]int32, error) {
	switch {
	case m.spm != nil:
		return m.spm.Encode(text), nil
	case m.tok != nil:
		return m.tok.Encode(text), nil
	case m.cfg.sigLIP():
		return nil, errNoSigLIPTokenizer
	}
	return nil, errors.New("clip: EmbedTexts: model has no tokenizer")
}

// padded returns ids padded as the text tower must see them: a tower that
// pools at the last position (SigLIP; OpenCLIP's pool_type "last") was
// trained on ids padded to the context length (max_position_embeddings)
// with the pad id, as transformers' SiglipTokenizer(padding="max_length")
// and open_clip.tokenize give them, so shorter sequences are padded (in a
// copy; ids is not modified), on the right (SigLIP 2's tokenizer config
// says padding_side "right"). Other towers take ids as they are.
func (m *Model) padded(ids [][]int32) ([][]int32, error) {
	t := &m.cfg.TextConfig
	if !t.SigLIP && t.Pooling != "last" {
		return ids, nil
	}
	pad := int32(t.PadTokenID)
	if m.spm != nil {
		pad = m.spm.Pad() // the id transformers pads with: the tokenizer's
	}
	out := ids
	for i, seq := range ids {
		if len(seq) > t.MaxPositionEmbeddings {
			return nil, fmt.Errorf("clip: sequence %d: %d tokens exceed max_position_embeddings %d", i, len(seq), t.MaxPositionEmbeddings)
		}
		if len(seq) == t.MaxPositionEmbeddings || len(seq) == 0 {
			continue
		}
		if &out[0] == &ids[0] {
			out = append([][]int32(nil), ids...)
		}
		p := make([]int32, t.MaxPositionEmbeddings)
		copy(p, seq)
		for j := len(seq); j < len(p); j++ {
			p[j] = pad
		}
		out[i] = p
	}
	return out, nil
}
