package sentencepiece

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestLoadErrors checks that unusable files give an error naming the file
// and the problem.
func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(testdata, "bpe.model"))
	if err != nil {
		t.Fatal(err)
	}
	gemma, err := os.ReadFile(filepath.Join(testdata, "gemma", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	withJSON := func(edit func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(gemma, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		b, _ := json.Marshal(m)
		return b
	}
	word := smallModel(modelWord, false)
	noCharsmap := append(smallModel(modelUnigram, false), 0x1a, 10, 0x0a, 8, 'n', 'm', 't', '_', 'n', 'f', 'k', 'c')
	cases := []struct {
		name, file string
		data       []byte
		want       string
	}{
		{"truncated", "spiece.model", good[:len(good)/3], "not a SentencePiece model"},
		{"empty", "spiece.model", nil, "no pieces"},
		{"word", "spiece.model", word, "model_type WORD is not supported"},
		{"nmt_nfkc without charsmap", "spiece.model", noCharsmap, `normalizer "nmt_nfkc" has no precompiled_charsmap`},
		{"json garbage", "tokenizer.json", []byte("{"), "tokenizer.json"},
		{"unigram json", "tokenizer.json", withJSON(func(m map[string]any) { m["model"].(map[string]any)["type"] = "Unigram" }), `model type "Unigram" is not supported`},
		{"nfkc json", "tokenizer.json", withJSON(func(m map[string]any) { m["normalizer"] = map[string]any{"type": "NFKC"} }), "normalizer NFKC is not Gemma's"},
		{"metaspace", "tokenizer.json", withJSON(func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "Metaspace"} }), "pre_tokenizer Metaspace is not supported"},
		{"template id", "tokenizer.json", withJSON(func(m map[string]any) {
			m["post_processor"].(map[string]any)["special_tokens"].(map[string]any)["<bos>"].(map[string]any)["ids"] = []any{99999}
		}), "special id 99999 is outside the vocabulary"},
		{"bad merge", "tokenizer.json", withJSON(func(m map[string]any) {
			mm := m["model"].(map[string]any)
			mm["merges"] = append(mm["merges"].([]any), []any{"zzz", "yyy"})
		}), "not in the vocabulary"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name, c.file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want one naming %s and saying %q", c.name, err, p, c.want)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing path loaded")
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "no spiece.model or tokenizer.json") {
		t.Errorf("empty folder: %v", err)
	}
}

// TestLoadFolder checks the folder rules: SiglipTokenizer's defaults for a
// bare spiece.model, tokenizer_config.json's settings for a folder.
func TestLoadFolder(t *testing.T) {
	sig := loadTest(t, "unigram_nfkc")
	if sig.Class() != "SiglipTokenizer" || sig.MaxLength() != 64 || sig.Pad() != 1 || sig.EOS() != 1 || sig.VocabSize() != 1000 {
		t.Errorf("spiece.model: class %s max %d pad %d eos %d vocab %d", sig.Class(), sig.MaxLength(), sig.Pad(), sig.EOS(), sig.VocabSize())
	}
	s2 := loadTest(t, "siglip2")
	if s2.Class() != "GemmaTokenizer" || s2.addBOS || !s2.addEOS || s2.padLeft || s2.Pad() != 0 || s2.MaxLength() != 64 {
		t.Errorf("siglip2: class %s bos %v eos %v padLeft %v pad %d max %d", s2.Class(), s2.addBOS, s2.addEOS, s2.padLeft, s2.Pad(), s2.MaxLength())
	}
	g := loadTest(t, "gemma")
	if !g.addBOS || g.addEOS || !g.padLeft {
		t.Errorf("gemma: bos %v eos %v padLeft %v", g.addBOS, g.addEOS, g.padLeft)
	}
	ids, mask := g.EncodeBatch([]string{"a photo", "a photo of a dog"}, 0)
	if len(ids[0]) != len(ids[1]) || mask[0][0] != 0 || ids[0][0] != g.Pad() {
		t.Errorf("gemma pads on the left: %v %v", ids, mask)
	}
	short := sig.WithMaxLength(3)
	if got := short.Encode("a photo of a dog"); len(got) != 3 || got[2] != sig.EOS() {
		t.Errorf("WithMaxLength(3): %v", got)
	}
}

// TestMergeStrings loads the Gemma fixture with its merges written as
// "a b" strings (the older tokenizer.json form, as on the Hub's Gemma
// repositories) and checks it encodes as the pair form does.
func TestMergeStrings(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testdata, "gemma", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	mm := m["model"].(map[string]any)
	var strs []string
	for _, p := range mm["merges"].([]any) {
		pair := p.([]any)
		strs = append(strs, pair[0].(string)+" "+pair[1].(string))
	}
	mm["merges"] = strs
	b, _ = json.Marshal(m)
	p := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	ref := loadTest(t, "gemma/tokenizer.json")
	for _, s := range readGolden(t).Texts[:500] {
		if a, b := tok.Encode(s), ref.Encode(s); !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: %v with string merges, %v with pairs", s, a, b)
		}
	}
}
