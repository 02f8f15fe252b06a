package sentencepiece

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/goclip/goclip/internal/testref"
)

const testdata = "../../testdata/sentencepiece"

// golden is testdata/sentencepiece/golden.json.gz, written by
// tools/goldens/sentencepiece.py goldens.
type golden struct {
	Versions  map[string]string                     `json:"versions"`
	MaxLength int                                   `json:"max_length"`
	Texts     []string                              `json:"texts"`
	SharedSHA []string                              `json:"shared_sha256"`
	Models    map[string]map[string]json.RawMessage `json:"models"`
}

var (
	goldenOnce sync.Once
	goldenData *golden
	goldenErr  error
)

func readGolden(t *testing.T) *golden {
	t.Helper()
	goldenOnce.Do(func() {
		f, err := os.Open(filepath.Join(testdata, "golden.json.gz"))
		if err != nil {
			goldenErr = err
			return
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			goldenErr = err
			return
		}
		g := &golden{}
		goldenErr = json.NewDecoder(z).Decode(g)
		goldenData = g
	})
	if goldenErr != nil {
		t.Fatal(goldenErr)
	}
	return goldenData
}

// ids returns one stored list of id lists.
func (g *golden) ids(t *testing.T, model, key string) [][]int32 {
	t.Helper()
	raw, ok := g.Models[model][key]
	if !ok {
		t.Fatalf("golden has no %s/%s", model, key)
	}
	var v [][]int32
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s/%s: %v", model, key, err)
	}
	return v
}

// compare checks got(text) against want for every text and reports the count.
func compare(t *testing.T, what string, texts []string, want [][]int32, got func(i int, s string) []int32) {
	t.Helper()
	if len(want) != len(texts) {
		t.Fatalf("%s: %d golden rows for %d texts", what, len(want), len(texts))
	}
	bad := 0
	for i, s := range texts {
		g := got(i, s)
		if !reflect.DeepEqual(g, want[i]) && !(len(g) == 0 && len(want[i]) == 0) {
			if bad < 5 {
				t.Errorf("%s: %q:\n got %v\nwant %v", what, s, g, want[i])
			}
			bad++
		}
	}
	t.Logf("%s: %d/%d exact", what, len(texts)-bad, len(texts))
	if bad > 0 {
		t.Errorf("%s: %d of %d differ", what, bad, len(texts))
	}
}

var spModels = []string{"unigram_nfkc", "unigram_bytes", "bpe", "bpe_bytes", "unigram_suffix"}

// hfFolders are the tokenizer.json folders of the golden; siglip2_lower is
// siglip2/ with tokenizer_class Siglip2Tokenizer, made by loadHFTest.
var hfFolders = []string{"gemma", "siglip2", "siglip2_lower"}

// loadHFTest loads one of hfFolders.
func loadHFTest(t testing.TB, name string) *Tokenizer {
	t.Helper()
	if name != "siglip2_lower" {
		return loadTest(t, name)
	}
	dir := t.TempDir()
	src := filepath.Join(testdata, "siglip2")
	b, err := os.ReadFile(filepath.Join(src, "tokenizer.json"))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "tokenizer.json"), b, 0o644)
	}
	var cfg map[string]any
	if err == nil {
		b, err = os.ReadFile(filepath.Join(src, "tokenizer_config.json"))
	}
	if err == nil {
		err = json.Unmarshal(b, &cfg)
	}
	if err == nil {
		cfg["tokenizer_class"] = "Siglip2Tokenizer"
		b, _ = json.Marshal(cfg)
		err = os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Class() != "Siglip2Tokenizer" || !tok.lower {
		t.Fatalf("siglip2_lower loaded as %s (lower %v)", tok.Class(), tok.lower)
	}
	return tok
}

func loadTest(t testing.TB, name string) *Tokenizer {
	t.Helper()
	p := filepath.Join(testdata, name)
	if filepath.Ext(name) == "" {
		if _, err := os.Stat(p + ".model"); err == nil {
			p += ".model"
		}
	}
	tok, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestGoldenSentencePiece compares the bare SentencePiece ids
// (SentencePieceProcessor.encode) of every model.
func TestGoldenSentencePiece(t *testing.T) {
	g := readGolden(t)
	for _, name := range spModels {
		tok := loadTest(t, name)
		compare(t, name+" sentencepiece", g.Texts, g.ids(t, name, "spm"), func(_ int, s string) []int32 {
			return tok.sp.encode(s)
		})
	}
}

// TestGoldenSiglip compares SiglipTokenizer's ids: padded to 64 with
// truncation, and (where stored) untruncated, with and without lowercasing.
func TestGoldenSiglip(t *testing.T) {
	g := readGolden(t)
	for _, name := range spModels {
		tok := loadTest(t, name)
		padded := g.ids(t, name, "siglip_padded")
		compare(t, name+" SiglipTokenizer max_length=64", g.Texts, padded, func(_ int, s string) []int32 {
			ids, _ := tok.EncodeBatch([]string{s}, g.MaxLength)
			return ids[0]
		})
		if _, ok := g.Models[name]["siglip"]; ok {
			compare(t, name+" SiglipTokenizer untruncated", g.Texts, g.ids(t, name, "siglip"), func(_ int, s string) []int32 {
				return tok.encode(s, 0)
			})
		}
		if _, ok := g.Models[name]["siglip_nolower"]; ok {
			nl := *tok
			nl.lower = false
			compare(t, name+" SiglipTokenizer do_lower_case=False", g.Texts, g.ids(t, name, "siglip_nolower"), func(_ int, s string) []int32 {
				return nl.encode(s, 0)
			})
		}
	}
}

// TestGoldenGemma compares the tokenizers library's ids for the Gemma-style
// tokenizer.json and transformers' GemmaTokenizer ids padded to 64 for the
// Gemma and SigLIP 2 configurations.
func TestGoldenGemma(t *testing.T) {
	g := readGolden(t)
	gemma := loadTest(t, "gemma")
	compare(t, "gemma tokenizers (no specials)", g.Texts, g.ids(t, "gemma", "raw"), func(_ int, s string) []int32 {
		return gemma.hf.encode(s, false)
	})
	for _, name := range hfFolders {
		tok := loadHFTest(t, name)
		mask := g.ids(t, name, "hf_padded_mask")
		compare(t, name+" "+tok.Class()+" max_length=64", g.Texts, g.ids(t, name, "hf_padded"), func(i int, s string) []int32 {
			ids, m := tok.EncodeBatch([]string{s}, g.MaxLength)
			if !reflect.DeepEqual(m[0], mask[i]) {
				t.Errorf("%s %q: mask %v, want %v", name, s, m[0], mask[i])
			}
			return ids[0]
		})
	}
}

// TestGoldenShared checks the texts of ../shared/reference's tokenizer
// golden, whose ids the generator stored under each text's SHA-256.
func TestGoldenShared(t *testing.T) {
	g := readGolden(t)
	ref := testref.Dir(t)
	b, err := os.ReadFile(filepath.Join(ref, "golden", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var shared struct {
		Cases []struct {
			Text string `json:"text"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &shared); err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(shared.Cases))
	for i, c := range shared.Cases {
		texts[i] = c.Text
		h := sha256.Sum256([]byte(c.Text))
		if i >= len(g.SharedSHA) || hex.EncodeToString(h[:8]) != g.SharedSHA[i] {
			t.Fatalf("shared case %d is not the text the golden was made from; regenerate it", i)
		}
	}
	if len(texts) != len(g.SharedSHA) {
		t.Fatalf("%d shared texts, golden made from %d", len(texts), len(g.SharedSHA))
	}
	for _, name := range spModels {
		tok := loadTest(t, name)
		compare(t, name+" shared sentencepiece", texts, g.ids(t, name, "shared_spm"), func(_ int, s string) []int32 {
			return tok.sp.encode(s)
		})
		compare(t, name+" shared SiglipTokenizer max_length=64", texts, g.ids(t, name, "shared_siglip_padded"), func(_ int, s string) []int32 {
			ids, _ := tok.EncodeBatch([]string{s}, g.MaxLength)
			return ids[0]
		})
	}
	for _, name := range hfFolders {
		tok := loadHFTest(t, name)
		compare(t, name+" shared "+tok.Class()+" max_length=64", texts, g.ids(t, name, "shared_hf_padded"), func(_ int, s string) []int32 {
			ids, _ := tok.EncodeBatch([]string{s}, g.MaxLength)
			return ids[0]
		})
	}
}

// TestGoldenSiglipFolder loads unigram_nfkc.model as the spiece.model of a
// folder with the tokenizer_config.json SiglipTokenizer.save_pretrained
// writes (the generator checks transformers' AutoTokenizer gives the same
// ids from that folder as from the bare model).
func TestGoldenSiglipFolder(t *testing.T) {
	g := readGolden(t)
	dir := t.TempDir()
	for src, dst := range map[string]string{"unigram_nfkc.model": "spiece.model", "siglip/tokenizer_config.json": "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(testdata, src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Class() != "SiglipTokenizer" || tok.MaxLength() != 64 || !tok.lower {
		t.Fatalf("folder loaded as %s, max length %d, lower %v", tok.Class(), tok.MaxLength(), tok.lower)
	}
	compare(t, "siglip folder SiglipTokenizer max_length=64", g.Texts, g.ids(t, "unigram_nfkc", "siglip_padded"), func(_ int, s string) []int32 {
		ids, _ := tok.EncodeBatch([]string{s}, g.MaxLength)
		return ids[0]
	})
}

// TestGoldenGemmaAdded loads gemma/ with a non-special added token
// ("<table>", normalized false) and a normalized one ("  ", matched on the
// normalized text), built as the generator builds it, and compares the
// tokenizers library's ids of the texts that contain them.
func TestGoldenGemmaAdded(t *testing.T) {
	g := readGolden(t)
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(testdata, "gemma", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tj map[string]any
	if err := json.Unmarshal(b, &tj); err != nil {
		t.Fatal(err)
	}
	vocab := tj["model"].(map[string]any)["vocab"].(map[string]any)
	n := len(vocab)
	for i, a := range []struct {
		content    string
		normalized bool
	}{{"<table>", false}, {"  ", true}} {
		vocab[a.content] = n + i
		tj["added_tokens"] = append(tj["added_tokens"].([]any), map[string]any{
			"id": n + i, "content": a.content, "normalized": a.normalized, "special": false,
			"lstrip": false, "rstrip": false, "single_word": false,
		})
	}
	b, _ = json.Marshal(tj)
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx []int
	if err := json.Unmarshal(g.Models["gemma_added"]["idx"], &idx); err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(idx))
	for k, i := range idx {
		texts[k] = g.Texts[i]
	}
	compare(t, "gemma with added tokens, tokenizers (no specials)", texts, g.ids(t, "gemma_added", "raw"), func(_ int, s string) []int32 {
		return tok.hf.encode(s, false)
	})
}
