package main

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/goldentest"
	"github.com/goclip/goclip/internal/openclip"
	"github.com/goclip/goclip/synth"
)

// tokenizeLines runs `clip tokenize --model dir` on texts and parses the
// id lists it prints.
func tokenizeLines(t *testing.T, dir string, texts []string) [][]int32 {
	t.Helper()
	var in strings.Builder
	for _, s := range texts {
		b, _ := json.Marshal(s)
		in.Write(append(b, '\n'))
	}
	out, err := runTokenizeWith(t, in.String(), "--model", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%d output lines for %d texts", len(lines), len(texts))
	}
	ids := make([][]int32, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &ids[i]); err != nil {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
	}
	return ids
}

// padTo pads ids with pad to n, as the text towers see them.
func padTo(ids []int32, n int, pad int32) []int32 {
	for len(ids) < n {
		ids = append(ids, pad)
	}
	return ids
}

// TestTokenizeSigLIP: `clip tokenize --model` on a SigLIP folder prints the
// model's own SentencePiece ids. The folder holds the unigram_nfkc
// spiece.model of the sentencepiece goldens with SiglipTokenizer's
// tokenizer_config.json and a text tower of 64 positions; padded with the
// pad id, the printed ids equal SiglipTokenizer(padding="max_length",
// max_length=64, truncation=True) on all 3,227 golden texts.
func TestTokenizeSigLIP(t *testing.T) {
	cfg, err := synth.Preset("siglip-tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Text.MaxPositionEmbeddings, cfg.Text.VocabSize = 64, 1000
	dir := t.TempDir()
	if err := synth.WriteModel(dir, cfg, 1); err != nil {
		t.Fatal(err)
	}
	sp := filepath.Join("..", "..", "testdata", "sentencepiece")
	for src, dst := range map[string]string{"unigram_nfkc.model": "spiece.model", "siglip/tokenizer_config.json": "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(sp, src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(filepath.Join(sp, "golden.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Texts  []string                              `json:"texts"`
		Models map[string]map[string]json.RawMessage `json:"models"`
	}
	if err := json.NewDecoder(zr).Decode(&g); err != nil {
		t.Fatal(err)
	}
	var want [][]int32
	if err := json.Unmarshal(g.Models["unigram_nfkc"]["siglip_padded"], &want); err != nil || len(want) != len(g.Texts) || len(want) < 3000 {
		t.Fatalf("golden siglip_padded: %v (%d lists for %d texts)", err, len(want), len(g.Texts))
	}
	got := tokenizeLines(t, dir, g.Texts)
	bad := 0
	for i := range got {
		if p := padTo(got[i], 64, 1); !slices.Equal(p, want[i]) {
			if bad++; bad <= 3 {
				t.Errorf("text %d %q: printed %v, SiglipTokenizer %v", i, g.Texts[i], got[i], want[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d texts differ from SiglipTokenizer", bad, len(got))
	}
}

// TestTokenizeOpenCLIP: on an OpenCLIP folder (open_clip_config.json with
// context_length 12 and pool_type last) the printed ids, padded with 0, are
// open_clip.tokenize's ids stored in the openclip-tiny-last golden.
func TestTokenizeOpenCLIP(t *testing.T) {
	g, err := goldentest.Read(filepath.Join("..", "..", "testdata", "golden", "openclip-tiny-last.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgJSON := []byte(g.Meta["open_clip_config"])
	oc, err := openclip.ParseConfig(cfgJSON)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "open_clip_config.json"), cfgJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	seed, _ := strconv.ParseUint(g.Meta["seed"], 10, 64)
	sc := synth.Config{Family: synth.FamilyOpenCLIP, Text: oc.Text, Vision: oc.Vision, ProjectionDim: oc.EmbedDim}
	if err := synth.WriteSafetensors(filepath.Join(dir, "open_clip_model.safetensors"), sc, seed); err != nil {
		t.Fatal(err)
	}
	var texts []string
	if err := json.Unmarshal([]byte(g.Meta["texts"]), &texts); err != nil {
		t.Fatal(err)
	}
	want, err := g.IDs("input_ids")
	if err != nil {
		t.Fatal(err)
	}
	// The command skips empty input lines, not empty strings: "" is a text.
	got := tokenizeLines(t, dir, texts)
	for i := range got {
		if p := padTo(got[i], len(want[i]), 0); !slices.Equal(p, want[i]) {
			t.Errorf("text %d %q: printed %v, open_clip.tokenize %v", i, texts[i], got[i], want[i])
		}
	}
	if n := oc.Text.MaxPositionEmbeddings; n == 77 || len(want[0]) != n {
		t.Errorf("golden context length %d, config %d: the test needs a non-default length", len(want[0]), n)
	}
}
