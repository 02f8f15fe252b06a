package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/synth"
)

// tinyModelAndImages writes a tiny synthetic model and n small PNG images.
func tinyModelAndImages(t *testing.T, n int) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	if err := synth.WriteModel(model, synth.Tiny(), 1); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for k := range n {
		im := image.NewRGBA(image.Rect(0, 0, 40+8*k, 48))
		for y := range 48 {
			for x := range 40 + 8*k {
				im.Set(x, y, color.RGBA{uint8(x*6 + k*40), uint8(y * 5), uint8(255 - k*50), 255})
			}
		}
		p := filepath.Join(dir, "img"+strconv.Itoa(k)+".png")
		var b bytes.Buffer
		png.Encode(&b, im)
		os.WriteFile(p, b.Bytes(), 0o644)
		paths = append(paths, p)
	}
	return model, paths
}

func TestSimilarityRun(t *testing.T) {
	model, paths := tinyModelAndImages(t, 3)
	texts := []string{"a photo of a cat", "a photo of a dog"}
	out := filepath.Join(t.TempDir(), "h.png")
	var so, se bytes.Buffer
	args := append([]string{"similarity", "--model", model, "--text", texts[0], "--text", texts[1], "--heatmap", out, "--json"}, paths...)
	if err := run(context.Background(), args, &so, &se); err != nil {
		t.Fatalf("%v\n%s", err, se.String())
	}
	var res struct {
		Similarity [][]float32 `json:"similarity"`
		ImageShape [2]int      `json:"image_embeds_shape"`
	}
	if err := json.Unmarshal(so.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	// Independently: embed, normalise, dot.
	m, err := clip.Load(model, nil)
	if err != nil {
		t.Fatal(err)
	}
	proc, err := imageproc.LoadProcessor(model)
	if err != nil {
		t.Fatal(err)
	}
	px, err := proc.Files(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	ie, _ := m.EmbedPixels(context.Background(), px, len(paths))
	te, _ := m.EmbedTexts(context.Background(), texts)
	if res.ImageShape != [2]int{3, m.EmbedDim()} || len(res.Similarity) != 3 {
		t.Fatalf("shape %v, %d rows", res.ImageShape, len(res.Similarity))
	}
	for i := range ie {
		for j := range te {
			var dot, ni, nj float64
			for k := range ie[i] {
				dot += float64(ie[i][k]) * float64(te[j][k])
				ni += float64(ie[i][k]) * float64(ie[i][k])
				nj += float64(te[j][k]) * float64(te[j][k])
			}
			want := dot / math.Sqrt(ni*nj)
			// float32 normalisation and dot product of 24-dim unit vectors
			if d := math.Abs(float64(res.Similarity[i][j]) - want); d > 1e-6 {
				t.Errorf("[%d][%d] = %v, want %v", i, j, res.Similarity[i][j], want)
			}
		}
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("heatmap: %v", err)
	}
	// The human-readable form prints the matrix numpy-style.
	so.Reset()
	args = append([]string{"similarity", "--model", model, "--text", texts[0], "--text", texts[1]}, paths...)
	if err := run(context.Background(), args, &so, &se); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(so.String(), formatArray(res.Similarity)) || !strings.Contains(so.String(), "(3, 24)") {
		t.Errorf("text output:\n%s", so.String())
	}
}

func TestClassifyRun(t *testing.T) {
	model, paths := tinyModelAndImages(t, 2)
	dir := t.TempDir()
	classes := filepath.Join(dir, "classes.txt")
	os.WriteFile(classes, []byte("cat\ndog\nbird\n"), 0o644)
	saved := filepath.Join(dir, "c.safetensors")
	var so, se bytes.Buffer
	args := append([]string{"classify", "--model", model, "--classes", classes, "--templates", "simple", "--top", "2", "--json", "--save-classifier", saved}, paths...)
	if err := run(context.Background(), args, &so, &se); err != nil {
		t.Fatalf("%v\n%s", err, se.String())
	}
	var res []struct {
		Image string            `json:"image"`
		Top   []clip.Prediction `json:"top"`
	}
	if err := json.Unmarshal(so.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || len(res[0].Top) != 2 || res[0].Top[0].Prob < res[0].Top[1].Prob {
		t.Fatalf("got %+v", res)
	}
	// The saved classifier gives the same answer without re-embedding.
	var so2 bytes.Buffer
	args = append([]string{"classify", "--model", model, "--classifier", saved, "--top", "2", "--json"}, paths...)
	if err := run(context.Background(), args, &so2, &se); err != nil {
		t.Fatal(err)
	}
	if so.String() != so2.String() {
		t.Errorf("saved classifier answers differently:\n%s\n%s", so.String(), so2.String())
	}
}
