package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/goclip/goclip/tokenizer"
)

// clipVocabSize is the size of the CLIP vocabulary built into package
// tokenizer (and transformers' CLIPTextConfig default).
const clipVocabSize = 49408

// maxConfigBytes bounds the config.json read for the tokenizer rule.
const maxConfigBytes = 1 << 20

// The tokenizer rule, the same for every command: a model folder's own
// tokenizer files (tokenizer.json, or vocab.json and merges.txt) when it
// has them; otherwise the built-in CLIP vocabulary, but only when
// config.json says the checkpoint is a CLIP model whose vocabulary that is
// (model_type "clip", text vocab_size 49408), and said on stderr;
// otherwise an error.

// hasTokenizerFiles reports whether dir holds tokenizer files.
func hasTokenizerFiles(dir string) bool {
	for _, f := range []string{"tokenizer.json", "vocab.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// clipConfig reads the model_type and text vocab_size of dir's
// config.json (vocab_size defaults to CLIP's, as in transformers); found is
// false when there is no config.json.
func clipConfig(dir string) (modelType string, vocab int, found bool, err error) {
	path := filepath.Join(dir, "config.json")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return "", 0, true, err
	}
	if len(b) > maxConfigBytes {
		return "", 0, true, fmt.Errorf("%s: larger than %d bytes", path, maxConfigBytes)
	}
	var cfg struct {
		ModelType  string `json:"model_type"`
		TextConfig struct {
			VocabSize *int `json:"vocab_size"`
		} `json:"text_config"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", 0, true, fmt.Errorf("%s: %w", path, err)
	}
	vocab = clipVocabSize
	if cfg.TextConfig.VocabSize != nil {
		vocab = *cfg.TextConfig.VocabSize
	}
	return cfg.ModelType, vocab, true, nil
}

// builtinVocabulary returns nil when the built-in vocabulary may stand in
// for dir's missing tokenizer files, else the reason it may not.
func builtinVocabulary(dir string) error {
	modelType, vocab, found, err := clipConfig(dir)
	switch {
	case err != nil:
		return err
	case !found:
		return fmt.Errorf("%s has no tokenizer files (tokenizer.json, or vocab.json and merges.txt) and no config.json saying it is a CLIP model", dir)
	case modelType != "clip" && modelType != "" || vocab != clipVocabSize:
		return fmt.Errorf("%s has no tokenizer files (tokenizer.json, or vocab.json and merges.txt), and its config.json (model_type %q, vocab_size %d) is not a CLIP model with the %d-token CLIP vocabulary; add the checkpoint's tokenizer files",
			dir, modelType, vocab, clipVocabSize)
	}
	return nil
}

// checkTokenizer applies the tokenizer rule to a CLIP model folder the
// model loader has read: an error when the folder has no tokenizer files
// and the built-in vocabulary is not its vocabulary; a line on stderr
// when the built-in vocabulary stands in. Folders of other families
// (another model_type, or an OpenCLIP folder without config.json) loaded
// with their own tokenizer and are left alone.
func checkTokenizer(dir string, stderr io.Writer) error {
	if hasTokenizerFiles(dir) {
		return nil
	}
	modelType, _, found, err := clipConfig(dir)
	if err != nil || !found || modelType != "clip" && modelType != "" {
		return err
	}
	return useBuiltin(dir, stderr)
}

// useBuiltin checks that the built-in vocabulary is dir's and says on
// stderr that it stands in for the missing files.
func useBuiltin(dir string, stderr io.Writer) error {
	if err := builtinVocabulary(dir); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "clip: %s has no tokenizer files; using the built-in CLIP vocabulary (%d tokens), which is this checkpoint's\n", dir, clipVocabSize)
	return nil
}

// loadTokenizer returns the tokenizer of a model folder by the rule, or
// the built-in CLIP tokenizer when dir is "".
func loadTokenizer(dir string, stderr io.Writer) (*tokenizer.Tokenizer, error) {
	switch {
	case dir == "":
		return tokenizer.New()
	case hasTokenizerFiles(dir):
		return tokenizer.Load(dir)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	if err := useBuiltin(dir, stderr); err != nil {
		return nil, err
	}
	return tokenizer.New()
}
