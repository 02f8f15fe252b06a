package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestSimilarityUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"similarity", "--model", "x"},                                    // no images
		{"similarity", "--model", "x", "a.png"},                           // no texts
		{"similarity", "--dataset", "d", "--text", "t"},                   // both
		{"similarity", "--dataset", "d", "--sample", "0"},                 // bad sample
		{"similarity", "--dataset", "d", "--template", "no placeholder"},  // bad template
		{"similarity", "--model", "/nonexistent", "--text", "t", "a.png"}, // no model
		{"classify", "--model", "x"},                                      // no images
		{"classify", "--model", "x", "--top", "0", "a.png"},               // bad top
		{"classify", "--model", "/nonexistent", "a.png"},                  // no model
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), args, &out, &errb)
		if err == nil {
			t.Errorf("%q: no error", args)
		}
		if out.Len() != 0 {
			t.Errorf("%q: wrote to stdout: %s", args, out.String())
		}
	}
}

func TestClassesAndTemplates(t *testing.T) {
	n, tm, err := classesAndTemplates("imagenet", "openai")
	if err != nil || len(n) != 1000 || len(tm) != 80 {
		t.Fatalf("%d classes %d templates %v", len(n), len(tm), err)
	}
	if _, tm, _ = classesAndTemplates("imagenet", "names"); tm != nil {
		t.Errorf("names: templates %q", tm)
	}
	if _, _, err := classesAndTemplates("/nonexistent", "names"); err == nil || !strings.Contains(err.Error(), "nonexistent") {
		t.Errorf("missing class file: %v", err)
	}
}
