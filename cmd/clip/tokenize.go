package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/goclip/goclip/tokenizer"
)

// maxTokenizeLine is the longest input line accepted (64 MiB).
const maxTokenizeLine = 1 << 26

// tokenizeCmd is `clip tokenize`; stdin is a field so that tests can
// supply the input.
type tokenizeCmd struct {
	stdin io.Reader
}

// runTokenize prints CLIP token ids for JSON strings read from standard input:
//
//	clip tokenize [--model DIR]
//
// Each non-empty input line is one JSON string; each output line is the JSON
// array of its ids, with <|startoftext|> and <|endoftext|>, truncated to 77.
// Without --model the built-in CLIP vocabulary is used; with it, the
// folder's tokenizer.json or vocab.json + merges.txt.
func runTokenize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return tokenizeCmd{stdin: os.Stdin}.run(ctx, args, stdout, stderr)
}

func (c tokenizeCmd) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tokenize", "usage: clip tokenize [--model DIR] < strings.jsonl", stderr)
	model := fs.String("model", "", "model folder with tokenizer.json or vocab.json + merges.txt (default: built-in CLIP vocabulary)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("tokenize: unexpected argument %q (texts are read from standard input)", fs.Arg(0))
	}
	var tok *tokenizer.Tokenizer
	var err error
	if *model != "" {
		tok, err = tokenizer.Load(*model)
	} else {
		tok, err = tokenizer.New()
	}
	if err != nil {
		return fmt.Errorf("tokenize: %w", err)
	}
	w := bufio.NewWriter(stdout)
	sc := bufio.NewScanner(c.stdin)
	sc.Buffer(make([]byte, 64*1024), maxTokenizeLine)
	var out []byte
	for line := 1; sc.Scan(); line++ {
		if err := ctx.Err(); err != nil {
			w.Flush()
			return fmt.Errorf("tokenize: %w", err)
		}
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			w.Flush()
			return fmt.Errorf("tokenize: standard input line %d: want a JSON string: %v", line, err)
		}
		out = append(out[:0], '[')
		for i, id := range tok.Encode(s) {
			if i > 0 {
				out = append(out, ',')
			}
			out = strconv.AppendInt(out, int64(id), 10)
		}
		out = append(out, ']', '\n')
		if _, err := w.Write(out); err != nil {
			return fmt.Errorf("tokenize: %w", err)
		}
	}
	if err := sc.Err(); err != nil {
		w.Flush()
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("tokenize: standard input: line longer than %d bytes", maxTokenizeLine)
		}
		return fmt.Errorf("tokenize: standard input: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("tokenize: %w", err)
	}
	return nil
}
