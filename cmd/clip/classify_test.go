package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goclip/goclip/clip"
)

// TestClassifyCacheAndProgress: building a classifier shows progress with
// rate and ETA (about ten lines off a terminal), the classifier is cached
// in the user cache folder (mode 0644), and a second run with the same
// model, classes and templates uses the cache: no prompt is embedded and
// the answers are the same. Other classes miss the cache.
func TestClassifyCacheAndProgress(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", t.TempDir())
	model, paths := tinyModelAndImages(t, 2)
	dir := t.TempDir()
	var names []string
	for i := range 40 {
		names = append(names, fmt.Sprintf("class %d", i))
	}
	classes := filepath.Join(dir, "classes.txt")
	os.WriteFile(classes, []byte(strings.Join(names, "\n")), 0o644)
	args := append([]string{"classify", "--model", model, "--classes", classes, "--templates", "simple", "--batch", "8", "--json"}, paths...)
	var so1, se1 bytes.Buffer
	if err := run(context.Background(), args, &so1, &se1); err != nil {
		t.Fatalf("%v\n%s", err, se1.String())
	}
	var progress []string
	for _, l := range strings.Split(se1.String(), "\n") {
		if strings.HasPrefix(l, "embedding class prompts") {
			progress = append(progress, l)
		}
	}
	// 40 classes × 7 templates = 280 prompts in 35 batches: a line per tenth.
	if len(progress) < 2 || len(progress) > 10 || !strings.Contains(progress[len(progress)-1], "280/280") {
		t.Errorf("progress lines %q", progress)
	}
	for _, l := range progress {
		if !strings.Contains(l, "texts/s") || !strings.Contains(l, "280/280") && !strings.Contains(l, "ETA") {
			t.Errorf("progress line %q: want a rate and an ETA", l)
		}
	}
	files, _ := filepath.Glob(filepath.Join(cache, "goclip", "classifiers", "*.safetensors"))
	if len(files) != 1 {
		t.Fatalf("cache files %q", files)
	}
	if st, _ := os.Stat(files[0]); st.Mode().Perm() != 0o644 {
		t.Errorf("cache file mode %v", st.Mode().Perm())
	}

	var so2, se2 bytes.Buffer
	if err := run(context.Background(), args, &so2, &se2); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(se2.String(), "using the cached classifier") || strings.Contains(se2.String(), "embedding class prompts") {
		t.Errorf("second run did not use the cache:\n%s", se2.String())
	}
	// eval uses the same cache: the classifier classify built for these
	// classes and templates is not embedded again.
	ds := tinyWebDataset(t, 4, names)
	simple := filepath.Join(dir, "simple.txt")
	os.WriteFile(simple, []byte(strings.Join(clip.ImageNetSimpleTemplates(), "\n")), 0o644)
	var se5 bytes.Buffer
	evalArgs := []string{"eval", "--model", model, "--dataset", ds, "--classes", classes, "--templates", simple, "--out", filepath.Join(dir, "r.json")}
	if err := run(context.Background(), evalArgs, &bytes.Buffer{}, &se5); err != nil {
		t.Fatalf("eval: %v\n%s", err, se5.String())
	}
	if !strings.Contains(se5.String(), "using the cached classifier") || strings.Contains(se5.String(), "class prompts") {
		t.Errorf("eval did not use classify's cached classifier:\n%s", se5.String())
	}
	if so1.String() != so2.String() {
		t.Errorf("cached classifier answers differently:\n%s\n%s", so1.String(), so2.String())
	}

	// Other classes: another cache entry; --no-cache: none read or written.
	os.WriteFile(classes, []byte(strings.Join(names[:30], "\n")), 0o644)
	var se3 bytes.Buffer
	if err := run(context.Background(), args, &bytes.Buffer{}, &se3); err != nil || strings.Contains(se3.String(), "cached") {
		t.Errorf("changed classes: %v\n%s", err, se3.String())
	}
	var se4 bytes.Buffer
	if err := run(context.Background(), append(args, "--no-cache"), &bytes.Buffer{}, &se4); err != nil || strings.Contains(se4.String(), "cached") {
		t.Errorf("--no-cache: %v\n%s", err, se4.String())
	}
	if files, _ := filepath.Glob(filepath.Join(cache, "goclip", "classifiers", "*.safetensors")); len(files) != 2 {
		t.Errorf("cache files %q, want 2", files)
	}
}

// TestProgressTerminal: on a terminal the line is redrawn in place with
// "\r", at most every 100 ms, padded over a longer previous line, and
// ended with a newline when done.
func TestProgressTerminal(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(0, 0)
	p := &progress{w: &b, label: "embedding", unit: "texts", total: 1000, tty: true, now: func() time.Time { return now }}
	p.start = now
	for done := 100; done <= 1000; done += 100 {
		now = now.Add(60 * time.Millisecond)
		p.update(done)
	}
	s := b.String()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") || strings.Count(s, "\r") < 4 || strings.Count(s, "\r") > 6 {
		t.Errorf("terminal output %q", s)
	}
	if !strings.Contains(s, "ETA") || !strings.Contains(s, "1000/1000") {
		t.Errorf("terminal output %q: want an ETA and the final count", s)
	}
	last := s[strings.LastIndex(s, "\r")+1:]
	if !strings.HasPrefix(last, "embedding 100%  1000/1000  1666.7 texts/s  1s") {
		t.Errorf("final line %q", last)
	}
}
