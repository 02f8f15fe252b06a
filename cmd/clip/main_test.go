package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/goclip/goclip/tensor"
)

// TestMain runs the real main when the test binary is re-executed by
// runMain, so that exit statuses and the printed error line are tested
// on a real process.
func TestMain(m *testing.M) {
	if os.Getenv("GOCLIP_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"clip"}, os.Args[1:]...)
		main()
		return
	}
	// The classifier cache (os.UserCacheDir) of every test is a fresh
	// folder, never the user's. Child processes (the helpers below, which
	// may be killed or exit early) inherit their parent's folder, so that
	// none is left behind.
	if os.Getenv("GOCLIP_TEST_CACHE_OWNER") != "" {
		os.Exit(m.Run())
	}
	cache, err := os.MkdirTemp("", "goclip-test-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", cache)
	os.Setenv("GOCLIP_TEST_CACHE_OWNER", strconv.Itoa(os.Getpid()))
	code := m.Run()
	os.RemoveAll(cache)
	os.Exit(code)
}

// runMain runs `clip args...` as a child process (this test binary running
// main) and returns its stdout, stderr and exit status.
func runMain(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "GOCLIP_TEST_RUN_MAIN=1")
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return so.String(), se.String(), 0
	case errors.As(err, &ee):
		return so.String(), se.String(), ee.ExitCode()
	}
	t.Fatal(err)
	return "", "", -1
}

func TestErrorLine(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{&commandError{"embed", errors.New("clip: /m/model.safetensors: missing tensor")}, "clip embed: clip: /m/model.safetensors: missing tensor"},
		{&commandError{"embed", &usageError{cmd: "embed", msg: "--out is required"}}, "clip embed: --out is required (see: clip help embed)"},
		{&usageError{msg: `unknown command "x"`}, `clip: unknown command "x" (see: clip help)`},
	}
	for _, c := range cases {
		if got := errorLine(c.err); got != c.want {
			t.Errorf("errorLine(%q) = %q, want %q", c.err, got, c.want)
		}
	}
}

// TestErrorLineNamesCommand runs commands on a model folder whose weights
// are garbage: each printed line names the command once, then the
// library's error with its own prefix once, and the file.
func TestErrorLineNamesCommand(t *testing.T) {
	dir, imgs := tinyModelAndImages(t, 1)
	img := imgs[0]
	wpath := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(wpath, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	texts := filepath.Join(t.TempDir(), "texts.txt")
	if err := os.WriteFile(texts, []byte("a\n"), 0o644); err != nil {
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
		if !strings.HasPrefix(line, "clip "+args[0]+": ") || strings.Count(line, args[0]+":") != 1 ||
			strings.Count(line, "clip:") > 1 || !strings.Contains(line, wpath) || strings.Contains(line, "\n") {
			t.Errorf("error line %q: want \"clip %s: \", the library's prefix at most once, the file name, one line", line, args[0])
		}
	}
}

// TestHelp checks -h, --help and `clip help CMD` of every command: exit
// status 0, and the full help on stdout: the synopsis with the positional
// arguments, and every flag.
func TestHelp(t *testing.T) {
	positional := map[string]string{
		"embed": "IMAGE...", "preprocess": "IMAGE...", "similarity": "IMAGE...", "classify": "IMAGE...",
		"tokenize": "< strings.jsonl", "bench": "--batch", "synth": "--out DIR", "eval": "--dataset D",
		"index": "DIR|DATASET...", "serve": "--index INDEX",
	}
	for name := range commands() {
		cases := [][]string{{name, "-h"}, {name, "--help"}, {"help", name}, {name, "arg", "--help"}}
		if name == "index" { // subcommands: the first argument is one
			cases = [][]string{{name, "-h"}, {name, "--help"}, {"help", name}, {"help", name, "build"}, {name, "build", "arg", "--help"}}
		}
		for _, args := range cases {
			var so, se bytes.Buffer
			err := run(context.Background(), args, &so, &se)
			out := so.String()
			if err != nil || se.Len() != 0 || !strings.HasPrefix(out, "usage: clip "+name) ||
				!strings.Contains(out, positional[name]) || !strings.Contains(out, "\nflags:\n  -") {
				t.Errorf("%q: err %v, stderr %q, stdout:\n%s", args, err, se.String(), out)
			}
		}
	}
	// Every flag of a command is listed (similarity has the most).
	var so bytes.Buffer
	run(context.Background(), []string{"help", "similarity"}, &so, &bytes.Buffer{})
	for _, f := range []string{"model", "texts", "text", "dataset", "sample", "seed", "template", "heatmap", "title", "json"} {
		if !strings.Contains(so.String(), "  -"+f+" ") && !strings.Contains(so.String(), "  -"+f+"\n") {
			t.Errorf("similarity help lacks -%s:\n%s", f, so.String())
		}
	}
	// As a process: exit 0, help on stdout.
	if so, se, code := runMain(t, "embed", "--help"); code != 0 || !strings.Contains(so, "usage: clip embed") || se != "" {
		t.Errorf("clip embed --help: exit %d, stdout %q, stderr %q", code, so, se)
	}
	if so, _, code := runMain(t, "help"); code != 0 || !strings.Contains(so, "similarity") {
		t.Errorf("clip help: exit %d, stdout %q", code, so)
	}
	if _, se, code := runMain(t, "help", "nope"); code != 2 || !strings.Contains(se, "nope") {
		t.Errorf("clip help nope: exit %d, stderr %q", code, se)
	}
}

// TestVersion checks that --version names the module and the kernels the
// tensor package chose.
func TestVersion(t *testing.T) {
	so, se, code := runMain(t, "--version")
	if code != 0 || !strings.Contains(so, "github.com/goclip/goclip") || !strings.Contains(so, "kernels: "+tensor.Kernel()+"\n") {
		t.Errorf("clip --version: exit %d, stdout %q, stderr %q", code, so, se)
	}
	if k := tensor.Kernel(); k != "go" && k != "avx2" && k != "avx512" {
		t.Errorf("tensor.Kernel() = %q", k)
	}
}

// TestEmbedNothing: `clip embed` with no images and no texts is a usage
// error (exit 2) and writes no file.
func TestEmbedNothing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "e.safetensors")
	err := run(context.Background(), []string{"embed", "--model", "/nonexistent", "--out", out}, &bytes.Buffer{}, &bytes.Buffer{})
	var u *usageError
	if !errors.As(err, &u) || exitCode(err) != 2 || !strings.Contains(err.Error(), "nothing to embed") {
		t.Errorf("embed with nothing: err %v (exit %d), want a usage error", err, exitCode(err))
	}
	if _, se, code := runMain(t, "embed", "--out", out); code != 2 || !strings.HasPrefix(se, "clip embed: nothing to embed") {
		t.Errorf("process: exit %d, stderr %q", code, se)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a file was written: %v", err)
	}
}
