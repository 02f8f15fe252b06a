package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestWriteCLIPFiles checks that the written folder loads back as the
// built-in tokenizer: the same ids for texts that use merges, specials,
// non-ASCII bytes and truncation, and the same special and pad ids.
func TestWriteCLIPFiles(t *testing.T) {
	dir := t.TempDir()
	if err := WriteCLIPFiles(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", f, st.Mode().Perm())
		}
	}
	loaded, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	builtin, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if loaded.VocabSize() != builtin.VocabSize() || loaded.BOS() != builtin.BOS() || loaded.EOS() != builtin.EOS() ||
		loaded.Pad() != builtin.Pad() || loaded.MaxLength() != builtin.MaxLength() {
		t.Fatalf("loaded: vocab %d bos %d eos %d pad %d max %d; built-in %d %d %d %d %d",
			loaded.VocabSize(), loaded.BOS(), loaded.EOS(), loaded.Pad(), loaded.MaxLength(),
			builtin.VocabSize(), builtin.BOS(), builtin.EOS(), builtin.Pad(), builtin.MaxLength())
	}
	long := ""
	for range 100 {
		long += "photograph "
	}
	for _, s := range []string{"a photo of a cat.", "Ünïcödé naïve café 寿司 🍣", "<|endoftext|>x<|startoftext|>", "don't we'll", "\x01\x7f\xff", long} {
		if a, b := loaded.Encode(s), builtin.Encode(s); !slices.Equal(a, b) {
			t.Errorf("%q: loaded %v, built-in %v", s, a, b)
		}
	}
}
