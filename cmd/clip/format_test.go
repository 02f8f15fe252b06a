package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Expected strings are numpy's print() of the same float32 arrays (numpy
// 2.5 for the first three; numpy 2.4.6 for the summarised ones, made by
//
//	a = (np.arange(40*30, dtype=np.float32).reshape(40, 30) % 97 / 97 - 0.3).astype(np.float32)
//	b = (np.arange(2*600, dtype=np.float32).reshape(2, 600) % 13 / 13).astype(np.float32)
//	c = (np.arange(600*2, dtype=np.float32).reshape(600, 2) % 7 / 7).astype(np.float32)
//	print(repr(str(a)), repr(str(b)), repr(str(c)))
//
// and computed below the same way in float32).
func TestFormatMatrixLikeNumpy(t *testing.T) {
	cases := []struct {
		m    [][]float32
		want string
	}{
		{[][]float32{{0.30133668, 0.19424956, 0.2, 0.25}, {0.1, -0.0523, 1.0, 0.123456789}},
			"[[ 0.30133668  0.19424956  0.2         0.25      ]\n [ 0.1        -0.0523      1.          0.12345679]]"},
		{[][]float32{{0.30133668, 0.19424956, 0.2, 0.25, 0.1, -0.0523, 1.0, 0.123456789, 0.5, 0.25, 0.26, 0.27}},
			"[[ 0.30133668  0.19424956  0.2         0.25        0.1        -0.0523\n   1.          0.12345679  0.5         0.25        0.26        0.27      ]]"},
		{[][]float32{{1, 2}, {3, 4}}, "[[1. 2.]\n [3. 4.]]"},
		{numpyLike(40, 30, func(i int) float32 { return float32(i%97)/97 - 0.3 }),
			"[[-0.3        -0.28969073 -0.27938145 ... -0.02164951 -0.01134023\n  -0.00103095]\n [ 0.00927833  0.01958761  0.02989689 ...  0.28762883  0.2979381\n   0.3082474 ]\n [ 0.31855667  0.32886595  0.33917522 ...  0.5969072   0.6072165\n   0.61752576]\n ...\n [ 0.14329895  0.15360823  0.16391751 ...  0.42164946  0.43195873\n   0.442268  ]\n [ 0.4525773   0.46288657  0.47319585 ... -0.26907218 -0.2587629\n  -0.24845362]\n [-0.23814434 -0.22783506 -0.21752578 ...  0.04020616  0.05051544\n   0.06082472]]"},
		{numpyLike(2, 600, func(i int) float32 { return float32(i%13) / 13 }),
			"[[0.         0.07692308 0.15384616 ... 0.9230769  0.         0.07692308]\n [0.15384616 0.23076923 0.30769232 ... 0.07692308 0.15384616 0.23076923]]"},
		{numpyLike(600, 2, func(i int) float32 { return float32(i%7) / 7 }),
			"[[0.         0.14285715]\n [0.2857143  0.42857143]\n [0.5714286  0.71428573]\n ...\n [0.5714286  0.71428573]\n [0.85714287 0.        ]\n [0.14285715 0.2857143 ]]"},
	}
	for _, c := range cases {
		if got := formatMatrix(c.m); got != c.want {
			t.Errorf("got\n%s\nwant\n%s", got, c.want)
		}
	}
}

// numpyLike returns the rows×cols matrix of f(i) for i = 0, 1, … in row
// order, each value rounded to float32 as numpy's float32 division does.
func numpyLike(rows, cols int, f func(i int) float32) [][]float32 {
	m := make([][]float32, rows)
	for r := range m {
		m[r] = make([]float32, cols)
		for c := range m[r] {
			m[r][c] = f(r*cols + c)
		}
	}
	return m
}

// TestFormatMatrixBounded: a 2000×2000 matrix (what `similarity --dataset
// --sample 2000` prints) gives a summary of 7 short lines, as numpy does.
// The formatter before this one copied its whole buffer at every line
// wrap and never finished this matrix.
func TestFormatMatrixBounded(t *testing.T) {
	m := numpyLike(2000, 2000, func(i int) float32 { return float32(i%1000)/1000 - 0.5 })
	s := formatMatrix(m)
	if lines := strings.Count(s, "\n") + 1; lines > 14 || len(s) > 14*printWidth {
		t.Errorf("%d lines, %d bytes:\n%s", lines, len(s), s)
	}
	// At the threshold (1,000 elements) numpy prints every value.
	full := formatMatrix(numpyLike(10, 100, func(i int) float32 { return float32(i) / 1000 }))
	if strings.Contains(full, "...") || !strings.Contains(full, "0.999") {
		t.Errorf("1,000 elements summarised:\n%s", full)
	}
}

func TestReadList(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := readList(write("l.txt", "a cat\r\n\n  a dog  \n"))
	if err != nil || !reflect.DeepEqual(got, []string{"a cat", "a dog"}) {
		t.Errorf("plain lines: got %q %v", got, err)
	}
	got, err = readList(write("l.jsonl", "\"  a cat \"\n\n\"line\\nbreak \\u00e9\"\n"))
	if err != nil || !reflect.DeepEqual(got, []string{"  a cat ", "line\nbreak é"}) {
		t.Errorf("JSON lines: got %q %v", got, err)
	}
	if _, err := readList(write("e.txt", "\n \n")); err == nil || !strings.Contains(err.Error(), "e.txt") {
		t.Errorf("empty list: %v", err)
	}
	if _, err := readList(write("b.jsonl", "\"ok\"\nnot json\n")); err == nil || !strings.Contains(err.Error(), "b.jsonl:2") {
		t.Errorf("bad JSON line: %v", err)
	}
	if _, err := readList(write("long.txt", strings.Repeat("x", maxListLine+1))); err == nil {
		t.Error("a line over the limit was accepted")
	}
	if _, err := readList(filepath.Join(dir, "missing.txt")); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing file: %v", err)
	}
}
