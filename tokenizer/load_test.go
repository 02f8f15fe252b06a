package tokenizer

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// writeModelFiles writes the built-in vocabulary as Hugging Face files into
// dir: vocab.json + merges.txt, or tokenizer.json (merges as "a b" strings
// or as ["a", "b"] pairs).
func writeModelFiles(t *testing.T, dir, layout string) {
	t.Helper()
	files, err := modelFiles(layout)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// modelFiles returns the file contents of a layout, made once per test
// binary.
var modelFiles = func() func(layout string) (map[string][]byte, error) {
	var once sync.Once
	var files map[string]map[string][]byte
	var err error
	return func(layout string) (map[string][]byte, error) {
		once.Do(func() { files, err = makeModelFiles() })
		return files[layout], err
	}
}()

func makeModelFiles() (map[string]map[string][]byte, error) {
	tok, err := New()
	if err != nil {
		return nil, err
	}
	v, err := tok.lv.get()
	if err != nil {
		return nil, err
	}
	out := map[string]map[string][]byte{"vocab": {}, "json-strings": {}, "json-pairs": {}}
	merges := make([][2]string, len(v.merges))
	for k, m := range v.merges {
		merges[m>>32] = [2]string{v.tokens[int32(k>>32)], v.tokens[int32(uint32(k))]}
	}
	ids := map[string]int32{}
	for id, s := range v.tokens {
		ids[s] = int32(id)
	}
	write := func(layout, name string, data any) {
		if s, ok := data.(string); ok {
			out[layout][name] = []byte(s)
			return
		}
		b, e := json.Marshal(data)
		if e != nil {
			err = e
		}
		out[layout][name] = b
	}
	{
		write("vocab", "vocab.json", ids)
		var sb strings.Builder
		sb.WriteString("#version: 0.2\n")
		for _, m := range merges {
			sb.WriteString(m[0] + " " + m[1] + "\n")
		}
		write("vocab", "merges.txt", sb.String())
	}
	for _, layout := range []string{"json-strings", "json-pairs"} {
		var ms []any
		for _, m := range merges {
			if layout == "json-strings" {
				ms = append(ms, m[0]+" "+m[1])
			} else {
				ms = append(ms, []string{m[0], m[1]})
			}
		}
		model := map[string]any{"type": "BPE", "vocab": ids, "merges": ms, "end_of_word_suffix": "</w>"}
		added := []map[string]any{{"id": 49406, "content": bosToken, "special": true}, {"id": 49407, "content": eosToken, "special": true}}
		write(layout, "tokenizer.json", map[string]any{"model": model, "added_tokens": added})
	}
	return out, err
}

// TestLoadLayouts loads each file layout written from the built-in
// vocabulary and checks it encodes the project goldens exactly.
func TestLoadLayouts(t *testing.T) {
	g := readGolden(t, goldenFile)
	for _, layout := range []string{"vocab", "json-strings", "json-pairs"} {
		t.Run(layout, func(t *testing.T) {
			dir := t.TempDir()
			writeModelFiles(t, dir, layout)
			tok, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if tok.BOS() != 49406 || tok.EOS() != 49407 || tok.Pad() != 49407 || tok.VocabSize() != 49408 {
				t.Errorf("BOS %d EOS %d Pad %d VocabSize %d", tok.BOS(), tok.EOS(), tok.Pad(), tok.VocabSize())
			}
			checkCases(t, tok, g.Cases)
		})
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	writeModelFiles(t, dir, "vocab")
	cfg := `{"model_max_length": 16, "pad_token": {"content": "!", "lstrip": false}}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.MaxLength() != 16 || tok.Pad() != 0 {
		t.Errorf("MaxLength %d Pad %d, want 16 and 0 (\"!\")", tok.MaxLength(), tok.Pad())
	}
	ids, _ := tok.EncodeBatch([]string{"a", "a b"}, 0)
	if !slices.Equal(ids[0], []int32{49406, 320, 49407, 0}) {
		t.Errorf("padded row %v", ids[0])
	}
	cfg = `{"model_max_length": 1000000000000000019884624838656}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if tok, err := Load(dir); err != nil || tok.MaxLength() != 77 {
		t.Errorf("unset model_max_length: %v, MaxLength %d, want 77", err, tok.MaxLength())
	}
}

// TestLoadErrors checks that broken folders give errors naming the file.
func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, file, content, want string
	}{
		{"no files", "", "", "vocab.json"},
		{"bad vocab", "vocab.json", "{", "vocab.json"},
		{"bad merges", "merges.txt", "#version: 0.2\na b c\n", "merges.txt"},
		{"unknown merge", "merges.txt", "#version: 0.2\nzzzq qqqz\n", "merges.txt"},
		{"bad tokenizer.json", "tokenizer.json", `{"model": {"type": "WordPiece"}}`, "tokenizer.json"},
		{"bad merge entry", "tokenizer.json", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [1]}}`, "tokenizer.json"},
		{"no specials", "tokenizer.json", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}`, "tokenizer.json"},
		{"bad config", "tokenizer_config.json", `{"pad_token": 3}`, "tokenizer_config.json"},
		{"unknown pad", "special_tokens_map.json", `{"pad_token": "<pad>"}`, "<pad>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.name != "no files" {
				writeModelFiles(t, dir, "vocab")
				if err := os.WriteFile(filepath.Join(dir, c.file), []byte(c.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
			var fe *FormatError
			if c.name != "no files" && c.name != "unknown pad" && !errors.As(err, &fe) {
				t.Errorf("err %v is not a *FormatError", err)
			}
		})
	}
}
