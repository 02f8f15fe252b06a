package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Expected strings are numpy 2.5's print() of the same float32 arrays.
func TestFormatArrayLikeNumpy(t *testing.T) {
	cases := []struct {
		m    [][]float32
		want string
	}{
		{[][]float32{{0.30133668, 0.19424956, 0.2, 0.25}, {0.1, -0.0523, 1.0, 0.123456789}},
			"[[ 0.30133668  0.19424956  0.2         0.25      ]\n [ 0.1        -0.0523      1.          0.12345679]]"},
		{[][]float32{{0.30133668, 0.19424956, 0.2, 0.25, 0.1, -0.0523, 1.0, 0.123456789, 0.5, 0.25, 0.26, 0.27}},
			"[[ 0.30133668  0.19424956  0.2         0.25        0.1        -0.0523\n   1.          0.12345679  0.5         0.25        0.26        0.27      ]]"},
		{[][]float32{{1, 2}, {3, 4}}, "[[1. 2.]\n [3. 4.]]"},
	}
	for _, c := range cases {
		if got := formatArray(c.m); got != c.want {
			t.Errorf("got\n%s\nwant\n%s", got, c.want)
		}
	}
}

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
