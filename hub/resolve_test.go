package hub

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRepoSpec(t *testing.T) {
	for spec, want := range map[string]Repo{
		"openai/clip-vit-base-patch32":      {ID: "openai/clip-vit-base-patch32", Type: Model},
		"openai/clip-vit-base-patch32@main": {ID: "openai/clip-vit-base-patch32", Type: Model, Revision: "main"},
		"org/name@refs/pr/1":                {ID: "org/name", Type: Model, Revision: "refs/pr/1"},
	} {
		got, ok := ParseRepoSpec(spec, Model)
		if !ok || got != want {
			t.Errorf("%q: %+v %v, want %+v", spec, got, ok, want)
		}
	}
	for _, spec := range []string{"", "./org/name", "/tmp/x", "a/b/c", "org/name@", "org/name@../x", "org--x/y", "org/name@a//b"} {
		if r, ok := ParseRepoSpec(spec, Model); ok {
			t.Errorf("%q taken for a Hub id: %+v", spec, r)
		}
	}
}

// TestResolveModel: a folder is returned as is, a Hub id becomes the cache
// snapshot holding the model files (optional ones the repo lacks are
// skipped), a revision pins the commit, and bad specs are clear errors.
func TestResolveModel(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.client(nil)

	dir := t.TempDir()
	if got, err := ResolveModel(ctx, dir, c); err != nil || got != dir {
		t.Errorf("folder: %q %v", got, err)
	}
	file := filepath.Join(dir, "config.json")
	os.WriteFile(file, []byte("{}"), 0o644)
	if _, err := ResolveModel(ctx, file, c); err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("file: %v", err)
	}
	if _, err := ResolveModel(ctx, "./no/such/folder", c); err == nil || !strings.Contains(err.Error(), "not a Hub id") {
		t.Errorf("missing folder: %v", err)
	}
	if _, err := ResolveModel(ctx, "", c); err == nil {
		t.Error("empty spec: no error")
	}

	got, err := ResolveModel(ctx, "org/tiny", c)
	want := filepath.Join(f.cache, "models--org--tiny", "snapshots", f.commit)
	if err != nil || got != want {
		t.Fatalf("Hub id: %q %v, want %q", got, err, want)
	}
	for name, data := range map[string][]byte{"model.safetensors": f.big, "config.json": f.small} {
		if b, err := os.ReadFile(filepath.Join(got, name)); err != nil || !bytes.Equal(b, data) {
			t.Errorf("%s in snapshot: %v", name, err)
		}
	}
	if got, err := ResolveModel(ctx, "org/tiny@"+f.commit, c); err != nil || got != want {
		t.Errorf("pinned commit: %q %v", got, err)
	}
	if _, err := ResolveModel(ctx, "org/missing", c); !errors.Is(err, ErrRepoNotFound) || !strings.Contains(err.Error(), "org/missing") {
		t.Errorf("missing repo: %v", err)
	}
}

func TestProgressReporterLines(t *testing.T) {
	var b bytes.Buffer
	p := NewProgressReporter(&b) // a buffer is not a terminal: lines, no bar
	p(Progress{File: "config.json", Done: 0, Total: 300})
	p(Progress{File: "config.json", Done: 300, Total: 300})
	p(Progress{File: "model.safetensors", Done: 0, Total: 5e6})
	p(Progress{File: "model.safetensors", Done: 1e6, Total: 5e6})
	p(Progress{File: "model.safetensors", Done: 5e6, Total: 5e6})
	p(Progress{File: "x.bin", Done: 2e6, Total: 5e6})
	p(Progress{File: "x.bin", Done: 3e6, Total: 5e6})
	want := "downloading config.json (300 B)\n" +
		"downloading model.safetensors (5.0 MB)\n" +
		"downloaded model.safetensors\n" +
		"resuming x.bin at 2.0 MB of 5.0 MB\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
