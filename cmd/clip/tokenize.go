package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/goclip/goclip/clip"
)

// maxTokenizeLine is the longest input line accepted (64 MiB).
const maxTokenizeLine = 1 << 26

// tokenizeCmd is `clip tokenize`; stdin is a field so that tests can
// supply the input.
type tokenizeCmd struct {
	stdin io.Reader
}

const tokenizeHelp = `usage: clip tokenize [--model DIR] < strings.jsonl

Prints CLIP token ids for JSON strings read from standard input: each
non-empty input line is one JSON string; each output line is the JSON
array of its ids, with <|startoftext|> and <|endoftext|>, truncated to the
tokenizer's maximum length (77).

Without --model the built-in CLIP vocabulary is used. With it, the
folder's tokenizer.json, or vocab.json and merges.txt; a folder without
them gets the built-in vocabulary only when its config.json is a CLIP
model with the 49,408-token CLIP vocabulary (said on stderr), as in every
command that loads a model.

A SigLIP folder (config.json model_type siglip) or an OpenCLIP one
(open_clip_config.json, no config.json) is loaded as a model and its own
tokenizer prints the ids (clip.Model.Tokenize): for SigLIP the
SentencePiece ids ending with </s>, truncated to the text tower's length
and not padded (the tower pads them with the pad id, as EmbedTexts does);
for OpenCLIP CLIP's BPE ids truncated to its context_length.`

// runTokenize implements `clip tokenize`.
func runTokenize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return tokenizeCmd{stdin: os.Stdin}.run(ctx, args, stdout, stderr)
}

func (c tokenizeCmd) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCmdFlags("tokenize", tokenizeHelp)
	model := fs.String("model", "", "model folder (default: the built-in CLIP vocabulary)")
	rest, err := fs.parse(args, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fs.usage("unexpected argument %q (texts are read from standard input)", rest[0])
	}
	encode, done, err := tokenizeEncoder(*model, stderr)
	if err != nil {
		return err
	}
	defer done()
	w := bufio.NewWriter(stdout)
	sc := bufio.NewScanner(c.stdin)
	sc.Buffer(make([]byte, 64*1024), maxTokenizeLine)
	var out []byte
	for line := 1; sc.Scan(); line++ {
		if err := ctx.Err(); err != nil {
			w.Flush()
			return err
		}
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			w.Flush()
			return fmt.Errorf("standard input line %d: want a JSON string: %v", line, err)
		}
		ids, err := encode(s)
		if err != nil {
			w.Flush()
			return fmt.Errorf("standard input line %d: %w", line, err)
		}
		out = append(out[:0], '[')
		for i, id := range ids {
			if i > 0 {
				out = append(out, ',')
			}
			out = strconv.AppendInt(out, int64(id), 10)
		}
		out = append(out, ']', '\n')
		if _, err := w.Write(out); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		w.Flush()
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("standard input: line longer than %d bytes", maxTokenizeLine)
		}
		return fmt.Errorf("standard input: %w", err)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return nil
}

// tokenizeEncoder returns what encodes a text for --model dir (and what to
// call when done): the model's own Tokenize for a SigLIP or OpenCLIP
// folder, else the CLIP tokenizer by the folder rule.
func tokenizeEncoder(dir string, stderr io.Writer) (func(string) ([]int32, error), func(), error) {
	family := false
	if dir != "" {
		modelType, _, found, err := clipConfig(dir)
		if err != nil {
			return nil, nil, err
		}
		_, ocErr := os.Stat(filepath.Join(dir, "open_clip_config.json"))
		family = modelType == "siglip" || modelType == "siglip2" || (!found && ocErr == nil)
	}
	if family {
		m, err := clip.Load(dir, nil)
		if err != nil {
			return nil, nil, err
		}
		return m.Tokenize, func() { m.Close() }, nil
	}
	tok, err := loadTokenizer(dir, stderr)
	if err != nil {
		return nil, nil, err
	}
	return func(s string) ([]int32, error) { return tok.Encode(s), nil }, func() {}, nil
}
