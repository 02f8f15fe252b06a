package main

// Tests of issue 9's list "The CLI, as a new user meets it", one or more
// per item (the help, version, flag-order and empty-embed items are in
// main_test.go and cli_test.go).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/jpeg"
	"image/png"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goclip/goclip/hub"
	"github.com/goclip/goclip/internal/safetensors"
	"github.com/goclip/goclip/synth"
)

// TestHeatmapFormatFromExtension: --heatmap writes the format its
// extension names, and an unknown extension is refused before the model
// is even looked at.
func TestHeatmapFormatFromExtension(t *testing.T) {
	model, paths := tinyModelAndImages(t, 2)
	dir := t.TempDir()
	for _, name := range []string{"h.jpeg", "h.JPG", "h.png", "h.svg"} {
		out := filepath.Join(dir, name)
		var so, se bytes.Buffer
		if err := run(context.Background(), []string{"similarity", "--model", model, "--text", "a", "--text", "b", "--heatmap", out, paths[0], paths[1]}, &so, &se); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, se.String())
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		switch strings.ToLower(filepath.Ext(name)) {
		case ".jpeg", ".jpg":
			if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil || !bytes.HasPrefix(b, []byte{0xff, 0xd8}) {
				t.Errorf("%s is not a JPEG: %v", name, err)
			}
		case ".png":
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s is not a PNG: %v", name, err)
			}
		case ".svg":
			if !bytes.Contains(b[:min(len(b), 200)], []byte("<svg")) {
				t.Errorf("%s is not an SVG: %.80q", name, b)
			}
		}
		if st, _ := os.Stat(out); st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v", name, st.Mode().Perm())
		}
	}
	out := filepath.Join(dir, "h.gif")
	err := run(context.Background(), []string{"similarity", "--model", "/nonexistent-model", "--text", "a", "--heatmap", out, paths[0]}, &bytes.Buffer{}, &bytes.Buffer{})
	var u *usageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), ".gif") {
		t.Errorf("--heatmap h.gif: %v; want a usage error naming the extension, before loading the model", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("h.gif written: %v", err)
	}
}

// TestSampleLargerThanDataset: --sample beyond the dataset's size says so
// in one stderr line and uses every image.
func TestSampleLargerThanDataset(t *testing.T) {
	model, _ := tinyModelAndImages(t, 0)
	ds := tinyWebDataset(t, 5, []string{"tench", "goldfish"})
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"similarity", "--model", model, "--dataset", ds, "--sample", "10", "--json"}, &so, &se); err != nil {
		t.Fatalf("%v\n%s", err, se.String())
	}
	var lines []string
	for _, l := range strings.Split(se.String(), "\n") {
		if strings.Contains(l, "--sample") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "10") || !strings.Contains(lines[0], "5 images") {
		t.Errorf("stderr lines about --sample: %q\n%s", lines, se.String())
	}
	var res struct{ Images []string }
	if err := json.Unmarshal(so.Bytes(), &res); err != nil || len(res.Images) != 5 {
		t.Errorf("%d images, %v", len(res.Images), err)
	}
}

// TestTextFilesOneFormat: embed and similarity read --texts the same way
// (plain lines; .jsonl as JSON strings), and the embeddings file names its
// rows in its metadata and has mode 0644.
func TestTextFilesOneFormat(t *testing.T) {
	model, paths := tinyModelAndImages(t, 2)
	dir := t.TempDir()
	plain := filepath.Join(dir, "t.txt")
	os.WriteFile(plain, []byte("a photo of a cat\n\n  a photo of a dog \n"), 0o644)
	jsonl := filepath.Join(dir, "t.jsonl")
	os.WriteFile(jsonl, []byte("\"a photo of a cat\"\n\"a photo of a dog\"\n"), 0o644)
	texts := []string{"a photo of a cat", "a photo of a dog"}
	var sims []string
	for _, f := range []string{plain, jsonl} {
		out := filepath.Join(dir, filepath.Base(f)+".safetensors")
		var so, se bytes.Buffer
		if err := run(context.Background(), []string{"embed", "--model", model, "--out", out, "--texts", f, paths[0], paths[1]}, &so, &se); err != nil {
			t.Fatalf("embed --texts %s: %v\n%s", f, err, se.String())
		}
		w, err := safetensors.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		md := w.Metadata()
		w.Close()
		var gotImages, gotTexts []string
		if json.Unmarshal([]byte(md["images"]), &gotImages) != nil || json.Unmarshal([]byte(md["texts"]), &gotTexts) != nil ||
			!slices.Equal(gotImages, paths[:2]) || !slices.Equal(gotTexts, texts) {
			t.Errorf("%s metadata: images %q texts %q", out, md["images"], md["texts"])
		}
		if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", out, st.Mode().Perm())
		}
		so.Reset()
		if err := run(context.Background(), []string{"similarity", "--model", model, "--texts", f, "--json", paths[0]}, &so, &se); err != nil {
			t.Fatalf("similarity --texts %s: %v", f, err)
		}
		sims = append(sims, so.String())
	}
	if sims[0] != sims[1] {
		t.Errorf("similarity differs between the .txt and .jsonl texts:\n%s\n%s", sims[0], sims[1])
	}
}

// TestNoNetworkHint: a Hub id with the Hub unreachable says what to do and
// prints the URL once. The client is the commands' (configured from the
// environment) without retries: the hub package retries a refused
// connection 5 times with backoff (31 s), which is its own behaviour.
func TestNoNetworkHint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close() // nothing listens there now: connection refused
	t.Setenv("HF_ENDPOINT", endpoint)
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HUB_OFFLINE", "")
	noRetries := func() *hub.Client { return hub.New(&hub.Config{Retries: -1}) }
	_, err = resolveModelWith(context.Background(), "someorg/some-model", noRetries())
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "HF_HUB_OFFLINE=1") || !strings.Contains(msg, "local folder") || strings.Count(msg, endpoint) != 1 {
		t.Errorf("error %q: want the advice (HF_HUB_OFFLINE=1, a local folder) and the URL once", msg)
	}
	// Offline with an empty cache, through the whole command: what to do
	// instead.
	t.Setenv("HF_HUB_OFFLINE", "1")
	_, paths := tinyModelAndImages(t, 1)
	err = run(context.Background(), []string{"similarity", "--model", "someorg/some-model", "--text", "a", paths[0]}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "local folder") || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Errorf("offline, not cached: %v", err)
	}
}

// TestTokenizerRule: a CLIP folder without tokenizer files gets the
// built-in vocabulary in every command, said on stderr; a folder whose
// vocabulary is not CLIP's is refused in every command; `clip synth`
// writes complete folders.
func TestTokenizerRule(t *testing.T) {
	bare := filepath.Join(t.TempDir(), "bare") // synth.WriteModel: weights and config only
	if err := synth.WriteModel(bare, synth.Tiny(), 1); err != nil {
		t.Fatal(err)
	}
	_, paths := tinyModelAndImages(t, 1)
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"similarity", "--model", bare, "--text", "a cat", paths[0]}, &so, &se); err != nil {
		t.Fatalf("similarity: %v\n%s", err, se.String())
	}
	if !strings.Contains(se.String(), "built-in CLIP vocabulary") {
		t.Errorf("similarity stderr does not say the built-in vocabulary is used:\n%s", se.String())
	}
	se.Reset()
	out, err := runTokenizeWithStderr(t, "\"a photo of a cat.\"\n", &se, "--model", bare)
	if err != nil || out != "[49406,320,1125,539,320,2368,269,49407]\n" || !strings.Contains(se.String(), "built-in CLIP vocabulary") {
		t.Errorf("tokenize --model bare: %q %v, stderr %q", out, err, se.String())
	}

	// A vocabulary that is not CLIP's: refused, naming what is missing.
	cfg := synth.Tiny()
	cfg.Text.VocabSize = 1000
	other := filepath.Join(t.TempDir(), "other")
	if err := synth.WriteModel(other, cfg, 1); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"similarity", "--model", other, "--text", "a cat", paths[0]}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "tokenizer files") || !strings.Contains(err.Error(), "1000") {
		t.Errorf("similarity, vocab 1000 without tokenizer files: %v", err)
	}
	if _, err := runTokenizeWithStderr(t, "\"x\"\n", &bytes.Buffer{}, "--model", other); err == nil || !strings.Contains(err.Error(), "tokenizer files") {
		t.Errorf("tokenize, vocab 1000 without tokenizer files: %v", err)
	}

	// clip synth writes the tokenizer files: the folder's own tokenizer,
	// same ids, nothing said.
	full := filepath.Join(t.TempDir(), "full")
	if err := run(context.Background(), []string{"synth", "--preset", "tiny", "--out", full}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"} {
		if _, err := os.Stat(filepath.Join(full, f)); err != nil {
			t.Errorf("synth folder: %v", err)
		}
	}
	se.Reset()
	out, err = runTokenizeWithStderr(t, "\"a photo of a cat.\"\n", &se, "--model", full)
	if err != nil || out != "[49406,320,1125,539,320,2368,269,49407]\n" || se.Len() != 0 {
		t.Errorf("tokenize --model synth folder: %q %v, stderr %q", out, err, se.String())
	}
}

func runTokenizeWithStderr(t *testing.T, stdin string, stderr *bytes.Buffer, args ...string) (string, error) {
	t.Helper()
	var stdout bytes.Buffer
	err := tokenizeCmd{stdin: strings.NewReader(stdin)}.run(context.Background(), args, &stdout, stderr)
	return stdout.String(), err
}

// TestModelTypeRefused: a config.json of another architecture is refused
// with an error naming its model_type (the library's check, seen through
// the command). "blip" stands for any family goclip does not support;
// siglip, the example, becomes supported with the families work.
func TestModelTypeRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blip")
	if err := synth.WriteModel(dir, synth.Tiny(), 1); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["model_type"] = "blip"
	if b, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, b, 0o644)
	out := filepath.Join(t.TempDir(), "e.safetensors")
	_, se, code := runMain(t, "embed", "--model", dir, "--text", "a cat", "--out", out)
	if code == 0 || !strings.Contains(se, `"blip"`) || !strings.Contains(se, "model_type") {
		t.Errorf("exit %d, stderr %q: want a failure naming the model type", code, se)
	}
	if _, err := runTokenizeWithStderr(t, "\"x\"\n", &bytes.Buffer{}, "--model", dir); err == nil || !strings.Contains(err.Error(), `"blip"`) {
		t.Errorf("tokenize on a blip folder: %v", err)
	}
}

// TestEvalLimitBeforeCounting: with --limit the dataset is not counted
// first (counting reads every shard's headers), so a run limited to the
// first shard's samples finishes even when a later shard is cut short —
// and starts without reading the later shards.
func TestEvalLimitBeforeCounting(t *testing.T) {
	f := newEvalFixture(t, 12, 10, []int{6, 6})
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut")
	writeEvalWDS(t, cut, f.images, f.labels, []int{6, 6}, f.names, nil)
	sh := filepath.Join(cut, "test", "1.tar")
	b, err := os.ReadFile(sh)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(sh, b[:len(b)/2], 0o644)
	out := filepath.Join(dir, "r.json")
	var so, se bytes.Buffer
	err = run(context.Background(), []string{"eval", "--model", f.model, "--templates", "names", "--dataset", cut, "--out", out, "--limit", "6", "--batch", "3"}, &so, &se)
	if err != nil {
		t.Fatalf("--limit 6 within the intact shard: %v\n%s", err, se.String())
	}
	if r := readEvalResults(t, out); !r.Complete || r.Samples != 6 {
		t.Errorf("results: complete %v, %d samples; want 6", r.Complete, r.Samples)
	}
}
