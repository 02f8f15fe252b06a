package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/cmd/clip/internal/pixblock"
	"github.com/goclip/goclip/evaluate"
)

// TestFamiliesCLI runs similarity, classify, embed, bench and eval on a
// synthetic SigLIP, SigLIP 2 NaFlex and OpenCLIP folder (clip synth's
// presets) and
// checks the numbers against the library: cosines, the probabilities of
// the model's kind (sigmoid for SigLIP, softmax for OpenCLIP) and the
// embeddings.
func TestFamiliesCLI(t *testing.T) {
	for _, preset := range []string{"siglip-tiny", "siglip2-tiny", "openclip-tiny"} {
		t.Run(preset, func(t *testing.T) {
			tmp := t.TempDir()
			model := filepath.Join(tmp, "model")
			var so, se bytes.Buffer
			if err := run(context.Background(), []string{"synth", "--preset", preset, "--out", model}, &so, &se); err != nil {
				t.Fatalf("%v\n%s", err, se.String())
			}
			imgs := familyImages(t, tmp, 4)
			m, err := clip.Load(model, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			kind := "softmax"
			if strings.HasPrefix(preset, "siglip") {
				kind = "sigmoid"
			}
			familySimilarity(t, m, model, imgs, kind)
			familyClassify(t, m, model, tmp, imgs, kind)
			familyEmbed(t, m, model, tmp, imgs)
			so.Reset()
			if err := run(context.Background(), []string{"bench", "--model", model, "--batch", "2", "--duration", "1ms"}, &so, &so); err != nil {
				t.Fatalf("bench: %v\n%s", err, so.String())
			}
			if !strings.Contains(so.String(), "images/s: ") || !strings.Contains(so.String(), "texts/s: ") {
				t.Errorf("bench output %q lacks the rates", so.String())
			}
			familyEval(t, m, model, tmp, imgs, kind)
			familyPixelModel(t, m, imgs)
		})
	}
}

func familyImages(t *testing.T, dir string, n int) []string {
	var paths []string
	for k := range n {
		im := image.NewRGBA(image.Rect(0, 0, 40+8*k, 48))
		for y := range 48 {
			for x := range 40 + 8*k {
				im.Set(x, y, color.RGBA{uint8(x*6 + k*40), uint8(y * 5), uint8(255 - k*50), 255})
			}
		}
		p := filepath.Join(dir, fmt.Sprintf("img%d.png", k))
		var b bytes.Buffer
		png.Encode(&b, im)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func familySimilarity(t *testing.T, m *clip.Model, model string, imgs []string, kind string) {
	texts := []string{"a photo of a cat", "a photo of a dog"}
	var so, se bytes.Buffer
	args := append([]string{"similarity", "--model", model, "--text", texts[0], "--text", texts[1], "--json"}, imgs...)
	if err := run(context.Background(), args, &so, &se); err != nil {
		t.Fatalf("similarity: %v\n%s", err, se.String())
	}
	var res struct {
		Similarity [][]float32 `json:"similarity"`
		Probs      string      `json:"probabilities"`
		ZeroShot   []struct {
			Index int     `json:"best_index"`
			Prob  float32 `json:"prob"`
		} `json:"zero_shot"`
	}
	if err := json.Unmarshal(so.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Probs != kind {
		t.Errorf("similarity probabilities %q, want %q", res.Probs, kind)
	}
	ie, err := m.EmbedFiles(context.Background(), imgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	te, err := m.EmbedTexts(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	sim, _ := clip.Similarity(ie, te)
	for i := range sim {
		for j := range sim[i] {
			if d := math.Abs(float64(sim[i][j] - res.Similarity[i][j])); d > 1e-6 {
				t.Errorf("similarity[%d][%d] = %g, library %g", i, j, res.Similarity[i][j], sim[i][j])
			}
		}
		b := res.ZeroShot[i]
		l := float64(m.LogitScale())*float64(sim[i][b.Index]) + float64(m.LogitBias())
		want := 1 / (1 + math.Exp(-l))
		if kind == "softmax" {
			var z float64
			for j := range sim[i] {
				z += math.Exp(float64(m.LogitScale())*float64(sim[i][j]) - l)
			}
			want = 1 / z
		}
		// float32 logits: relative 1e-5 of a probability near 0 or 1
		if d := math.Abs(float64(b.Prob) - want); d > 1e-5*math.Max(want, 1e-30)+1e-7 {
			t.Errorf("image %d: %s probability %g, want %g", i, kind, b.Prob, want)
		}
	}
}

func familyClassify(t *testing.T, m *clip.Model, model, tmp string, imgs []string, kind string) {
	classes := filepath.Join(tmp, "classes.txt")
	os.WriteFile(classes, []byte("cat\ndog\ncar\n"), 0o644)
	var so, se bytes.Buffer
	args := append([]string{"classify", "--model", model, "--no-cache", "--classes", classes, "--templates", "simple", "--json"}, imgs[:2]...)
	if err := run(context.Background(), args, &so, &se); err != nil {
		t.Fatalf("classify: %v\n%s", err, se.String())
	}
	var res []struct {
		Top   []clip.Prediction `json:"top"`
		Probs string            `json:"probabilities"`
	}
	if err := json.Unmarshal(so.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, p := range res[0].Top {
		sum += float64(p.Prob)
		if kind == "sigmoid" {
			want := 1 / (1 + math.Exp(-float64(p.Logit)))
			if math.Abs(float64(p.Prob)-want) > 1e-6*want+1e-30 || math.Abs(float64(p.Logit)-(float64(m.LogitScale())*float64(p.Score)+float64(m.LogitBias()))) > 1e-4 {
				t.Errorf("classify %s: prob %g logit %g score %g", p.Class, p.Prob, p.Logit, p.Score)
			}
		}
	}
	if res[0].Probs != kind || (kind == "softmax" && math.Abs(sum-1) > 1e-5) {
		t.Errorf("classify probabilities %q (sum %g), want %s", res[0].Probs, sum, kind)
	}
}

func familyEmbed(t *testing.T, m *clip.Model, model, tmp string, imgs []string) {
	texts := filepath.Join(tmp, "texts.jsonl")
	os.WriteFile(texts, []byte("\"a photo of a cat\"\n\"a big red car\"\n"), 0o644)
	out := filepath.Join(tmp, "emb.safetensors")
	var log bytes.Buffer
	if err := run(context.Background(), []string{"embed", "--model", model, "--out", out, "--texts", texts, imgs[0]}, &log, &log); err != nil {
		t.Fatalf("embed: %v\n%s", err, log.String())
	}
	if st, err := os.Stat(out); err != nil || st.Size() < int64(4*3*m.EmbedDim()) {
		t.Fatalf("embed wrote %v, %v", st, err)
	}
}

// familyEval runs eval and checks that its results file records the
// model's probability kind, and SigLIP's logit_bias.
func familyEval(t *testing.T, m *clip.Model, model, tmp string, imgs []string, kind string) {
	root := filepath.Join(tmp, "folder")
	for i, p := range imgs {
		d := filepath.Join(root, fmt.Sprintf("c%d", i%2))
		os.MkdirAll(d, 0o755)
		b, _ := os.ReadFile(p)
		os.WriteFile(filepath.Join(d, filepath.Base(p)), b, 0o644)
	}
	os.WriteFile(filepath.Join(root, "classnames.txt"), []byte("cat\ndog\n"), 0o644)
	out := filepath.Join(tmp, "r.json")
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"eval", "--model", model, "--dataset", root, "--templates", "names", "--out", out}, &so, &se); err != nil {
		t.Fatalf("eval: %v\n%s", err, se.String())
	}
	r, err := evaluate.ReadResults(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Probabilities != kind {
		t.Errorf("eval results: probabilities %q, want %q", r.Probabilities, kind)
	}
	switch {
	case kind == "sigmoid" && (r.LogitBias == nil || *r.LogitBias != m.LogitBias()):
		t.Errorf("eval results: logit_bias %v, want %g", r.LogitBias, m.LogitBias())
	case kind == "softmax" && r.LogitBias != nil:
		t.Errorf("eval results: logit_bias %g for a softmax model", *r.LogitBias)
	}
}

// familyPixelModel: the fixed-size blocks eval and index build use (for
// NaFlex: padded patch grids with their shape) embed to exactly what
// EmbedFiles gives.
func familyPixelModel(t *testing.T, m *clip.Model, imgs []string) {
	pm := pixblock.New(m, nil)
	var flat []float32
	for _, p := range imgs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		px, err := pm.Encoded(b)
		if err != nil {
			t.Fatal(err)
		}
		flat = append(flat, px...)
	}
	got, err := pm.EmbedPixels(context.Background(), flat)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.EmbedFiles(context.Background(), imgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("image %d: pixel-block embedding differs from EmbedFiles at %d: %g vs %g", i, j, got[i][j], want[i][j])
			}
		}
	}
}

// TestNaFlexCLIRefusals: the commands that take or write [3,S,S] pixel
// values refuse a SigLIP 2 NaFlex model with a message saying why.
func TestNaFlexCLIRefusals(t *testing.T) {
	tmp := t.TempDir()
	model := filepath.Join(tmp, "model")
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"synth", "--preset", "siglip2-tiny", "--out", model}, &so, &se); err != nil {
		t.Fatalf("%v\n%s", err, se.String())
	}
	imgs := familyImages(t, tmp, 1)
	for _, args := range [][]string{
		{"preprocess", "--model", model, "--out", filepath.Join(tmp, "px.safetensors"), imgs[0]},
		{"embed", "--model", model, "--out", filepath.Join(tmp, "e.safetensors"), "--pixel-values", filepath.Join(tmp, "px.safetensors")},
	} {
		err := run(context.Background(), args, &so, &se)
		if err == nil || !strings.Contains(err.Error(), "NaFlex") {
			t.Errorf("%s: %v, want a NaFlex refusal", args[0], err)
		}
	}
}
