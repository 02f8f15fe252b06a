package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runTokenizeWith(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := tokenizeCmd{stdin: strings.NewReader(stdin)}.run(context.Background(), args, &stdout, &stderr)
	return stdout.String(), err
}

func TestTokenizeCommand(t *testing.T) {
	in := "\"a photo of a cat.\"\n\n\"\"\n\"<|endoftext|>\\u00e9\"\n"
	want := "[49406,320,1125,539,320,2368,269,49407]\n[49406,49407]\n[49406,49407,4166,49407]\n"
	got, err := runTokenizeWith(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
	long, err := runTokenizeWith(t, `"`+strings.Repeat("cat ", 100)+`"`)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(long, ",") + 1; n != 77 || !strings.HasSuffix(long, ",49407]\n") {
		t.Errorf("long text: %d ids, %q", n, long[len(long)-20:])
	}
}

func TestTokenizeCommandErrors(t *testing.T) {
	out, err := runTokenizeWith(t, "\"ok\"\nnot json\n\"never\"\n")
	if err == nil || !strings.Contains(err.Error(), "line 2") || strings.Contains(err.Error(), "\n") {
		t.Errorf("bad JSON line: err = %v, want a one-line error naming line 2", err)
	}
	if out != "[49406,2481,49407]\n" {
		t.Errorf("output before the bad line = %q", out)
	}
	if _, err := runTokenizeWith(t, "42\n"); err == nil {
		t.Error("a JSON number was accepted")
	}
	dir := t.TempDir()
	if _, err := runTokenizeWith(t, "\"x\"\n", "--model", dir); err == nil || !strings.Contains(err.Error(), "merges.txt") && !strings.Contains(err.Error(), "vocab.json") {
		t.Errorf("empty model folder: err = %v, want one naming the missing file", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runTokenizeWith(t, "\"x\"\n", "--model", dir); err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Errorf("broken tokenizer.json: err = %v", err)
	}
	if _, err := runTokenizeWith(t, "", "extra"); err == nil {
		t.Error("a positional argument was accepted")
	}
}

// TestTokenizeDispatch checks that run reaches the subcommand, as main does
// (with a flag error, so that the test binary's standard input is not read).
func TestTokenizeDispatch(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"tokenize", "--no-such-flag"}, &stdout, &stderr); err == nil {
		t.Error("unknown flag accepted")
	}
}
