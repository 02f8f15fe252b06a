package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"unicode/utf8"

	"github.com/goclip/goclip/internal/atomicfile"
)

// WriteCLIPFiles writes the built-in CLIP vocabulary (the one New uses) to
// dir as a Hugging Face CLIPTokenizer folder: vocab.json, merges.txt,
// tokenizer_config.json and special_tokens_map.json. Load(dir) then gives
// the same ids as New. Each file is written through a temporary file
// renamed into place.
func WriteCLIPFiles(dir string) error {
	v, err := defaultVocab()
	if err != nil {
		return err
	}
	merges, err := defaultMerges()
	if err != nil {
		return err
	}
	vj := make([]byte, 0, 1<<20) // in id order, as transformers writes it
	vj = append(vj, '{')
	for id, tok := range v.tokens {
		if id > 0 {
			vj = append(vj, ", "...)
		}
		if plainJSON(tok) {
			vj = append(append(append(vj, '"'), tok...), '"')
		} else {
			k, err := json.Marshal(tok)
			if err != nil {
				return fmt.Errorf("tokenizer: %w", err)
			}
			vj = append(vj, k...)
		}
		vj = append(append(vj, ": "...), strconv.Itoa(id)...)
	}
	vj = append(vj, '}')
	special := map[string]any{
		"bos_token": bosToken, "eos_token": eosToken, "unk_token": eosToken, "pad_token": eosToken,
	}
	config := map[string]any{
		"tokenizer_class": "CLIPTokenizer", "model_max_length": DefaultMaxLength,
		"bos_token": bosToken, "eos_token": eosToken, "unk_token": eosToken, "pad_token": eosToken,
		"do_lower_case": true, "errors": "replace", "add_prefix_space": false,
	}
	sj, err := json.MarshalIndent(special, "", "  ")
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	cj, err := json.MarshalIndent(config, "", "  ")
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"vocab.json", vj},
		{"merges.txt", merges},
		{"tokenizer_config.json", append(cj, '\n')},
		{"special_tokens_map.json", append(sj, '\n')},
	} {
		if err := writeFile(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("tokenizer: %w", err)
		}
	}
	return nil
}

// plainJSON reports whether s can be written as a JSON string between
// quotes as it is: valid UTF-8 without quotes, backslashes or control
// characters.
func plainJSON(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == '"' || r == '\\' || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// defaultMerges returns merges.txt of the built-in vocabulary: the
// version header and the merges CLIP uses (the embedded list is longer).
func defaultMerges() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(defaultVocabGz))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: embedded vocabulary: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: embedded vocabulary: %w", err)
	}
	// The embedded file's first line is its own header; merges.txt starts
	// with transformers' "#version: 0.2".
	start := bytes.IndexByte(raw, '\n') + 1
	end := start
	for n := 0; n < clipMerges; n++ {
		nl := bytes.IndexByte(raw[end:], '\n')
		if nl < 0 {
			return nil, fmt.Errorf("tokenizer: embedded vocabulary: %d merges, want %d", n, clipMerges)
		}
		end += nl + 1
	}
	return append([]byte("#version: 0.2\n"), raw[start:end]...), nil
}

// writeFile writes data to path through a temporary file in the same
// folder renamed into place, with mode 0644.
func writeFile(path string, data []byte) error {
	return atomicfile.WriteFile(path, data)
}
