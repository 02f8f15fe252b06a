package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestErrorLine(t *testing.T) {
	cases := map[string]string{
		"embed: clip: /m/model.safetensors: tensor \"x\": missing tensor": "clip: embed: /m/model.safetensors: tensor \"x\": missing tensor",
		"clip: /m/config.json: field projection_dim: 0 must be positive":  "clip: /m/config.json: field projection_dim: 0 must be positive",
		"unknown command \"x\"":             "clip: unknown command \"x\"",
		"embed: read a.txt:\nline 2: bad\n": "clip: embed: read a.txt: line 2: bad",
	}
	for in, want := range cases {
		if got := errorLine(errors.New(in)); got != want {
			t.Errorf("errorLine(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestErrorLineNamesCommand runs commands on a model folder whose weights
// are garbage: each printed line has one "clip:", the command's name
// (whether or not the command added it) and the file name.
func TestErrorLineNamesCommand(t *testing.T) {
	dir, imgs := tinyModelAndImages(t, 1)
	img := imgs[0]
	wpath := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(wpath, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	texts := filepath.Join(t.TempDir(), "texts.txt")
	if err := os.WriteFile(texts, []byte(`"a"`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"embed", "--model", dir, "--texts", texts, "--out", filepath.Join(t.TempDir(), "e.safetensors")},
		{"classify", "--model", dir, "--classes", texts, "--templates", "names", img},
		{"similarity", "--model", dir, "--text", "a", img},
		{"bench", "--model", dir, "--duration", "1ms"},
	} {
		err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil {
			t.Errorf("%s: garbage weights accepted", args[0])
			continue
		}
		line := errorLine(err)
		if strings.Count(line, "clip:") != 1 || !strings.Contains(line, wpath) || !strings.HasPrefix(line, "clip: "+args[0]+": ") {
			t.Errorf("error line %q: want one \"clip:\", the command and the file name", line)
		}
	}
}

// TestSynopsisInHelp checks that -h of every subcommand built on
// newFlagSet shows its synopsis with the positional arguments.
func TestSynopsisInHelp(t *testing.T) {
	for cmd, want := range map[string]string{
		"embed":      "usage: clip embed --model DIR --out FILE.safetensors",
		"preprocess": "IMAGE...",
		"tokenize":   "usage: clip tokenize",
		"bench":      "usage: clip bench",
		"synth":      "usage: clip synth",
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), []string{cmd, "-h"}, &bytes.Buffer{}, &stderr)
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "flags:\n  -") {
			t.Errorf("%s -h: %v\n%s", cmd, err, stderr.String())
		}
	}
	var stderr bytes.Buffer
	run(context.Background(), []string{"embed", "-h"}, &bytes.Buffer{}, &stderr)
	if !strings.Contains(stderr.String(), "[IMAGE...]") {
		t.Errorf("embed -h does not mention IMAGE...:\n%s", stderr.String())
	}
}
