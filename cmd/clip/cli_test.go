package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// TestParseFlagsAnywhere checks the interleaving parser: flags before,
// between and after positional arguments; "--" ends the flags unless it is
// a flag's value; -h anywhere is help.
func TestParseFlagsAnywhere(t *testing.T) {
	cases := []struct {
		args       []string
		pos, texts []string
		json       bool
	}{
		{[]string{"a.jpg", "--text", "cat"}, []string{"a.jpg"}, []string{"cat"}, false},
		{[]string{"--text", "cat", "a.jpg", "--json", "b.jpg", "-text=dog"}, []string{"a.jpg", "b.jpg"}, []string{"cat", "dog"}, true},
		{[]string{"a.jpg", "--", "--json", "-x"}, []string{"a.jpg", "--json", "-x"}, nil, false},
		{[]string{"--text", "--", "a.jpg", "--json"}, []string{"a.jpg"}, []string{"--"}, true},
		{[]string{"--json=false", "a", "-", "b"}, []string{"a", "-", "b"}, nil, false},
		{[]string{"--json", "--", "--"}, []string{"--"}, nil, true},
		{nil, nil, nil, false},
	}
	for _, c := range cases {
		fs := newCmdFlags("t", "usage: clip t")
		var texts stringList
		fs.Var(&texts, "text", "")
		asJSON := fs.Bool("json", false, "")
		pos, err := fs.parse(c.args, &bytes.Buffer{})
		if err != nil || !slices.Equal(pos, c.pos) || !slices.Equal(texts, c.texts) || *asJSON != c.json {
			t.Errorf("%q: positional %q texts %q json %v err %v; want %q %q %v", c.args, pos, texts, *asJSON, err, c.pos, c.texts, c.json)
		}
	}
	fs := newCmdFlags("t", "usage: clip t")
	var help bytes.Buffer
	if _, err := fs.parse([]string{"a", "-h"}, &help); !errors.Is(err, errHelp) || help.Len() == 0 {
		t.Errorf("-h after an argument: %v, help %q", err, help.String())
	}
	var u *usageError
	if _, err := fs.parse([]string{"a", "--nope"}, &help); !errors.As(err, &u) {
		t.Errorf("unknown flag: %v, want a usage error", err)
	}
}

// TestSimilarityFlagsAfterImages runs `clip similarity IMAGE --text T
// --model M --json`: the flags after the image count.
func TestSimilarityFlagsAfterImages(t *testing.T) {
	model, paths := tinyModelAndImages(t, 2)
	var so, se bytes.Buffer
	args := []string{"similarity", paths[0], "--text", "a cat", paths[1], "--model", model, "--json", "--text", "a dog"}
	if err := run(context.Background(), args, &so, &se); err != nil {
		t.Fatalf("%v\n%s", err, se.String())
	}
	var res struct {
		Images []string `json:"images"`
		Texts  []string `json:"texts"`
	}
	if err := json.Unmarshal(so.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, so.String())
	}
	if len(res.Images) != 2 || !slices.Equal(res.Texts, []string{"a cat", "a dog"}) {
		t.Errorf("images %q texts %q", res.Images, res.Texts)
	}
}
