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
	"slices"
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
	ie, _ := m.EmbedPixels(context.Background(), px)
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
	if !strings.Contains(so.String(), formatMatrix(res.Similarity)) || !strings.Contains(so.String(), "(3, 24)") {
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

// tinyWebDataset writes an ImageNetV2-shaped WebDataset: classnames.txt and
// test/nshards.txt, test/0.tar with keys s0000000… holding .png + .cls.
func tinyWebDataset(t *testing.T, n int, classes []string) string {
	t.Helper()
	dir := t.TempDir()
	images, labels := make([][]byte, n), make([]int, n)
	for k := range n {
		im := image.NewRGBA(image.Rect(0, 0, 32+4*k, 40))
		for y := range 40 {
			for x := range 32 + 4*k {
				im.Set(x, y, color.RGBA{uint8(x * 7), uint8(y*5 + k*30), uint8(k * 60), 255})
			}
		}
		var p bytes.Buffer
		png.Encode(&p, im)
		images[k], labels[k] = p.Bytes(), k%len(classes)
	}
	writeWDS(t, dir, "png", images, labels, []int{n}, classes, nil)
	return dir
}

func TestSimilarityDatasetRun(t *testing.T) {
	model, _ := tinyModelAndImages(t, 0)
	classes := []string{"tench", "goldfish", "great white shark", "tiger shark", "hammerhead shark"}
	ds := tinyWebDataset(t, 12, classes)
	out := filepath.Join(t.TempDir(), "h.png")
	var so, se bytes.Buffer
	args := []string{"similarity", "--model", model, "--dataset", ds, "--sample", "10", "--seed", "1", "--heatmap", out, "--json"}
	if err := run(context.Background(), args, &so, &se); err != nil {
		t.Fatalf("%v\n%s", err, se.String())
	}
	var res struct {
		Images     []string    `json:"images"`
		Texts      []string    `json:"texts"`
		Similarity [][]float32 `json:"similarity"`
	}
	if err := json.Unmarshal(so.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Similarity) != 10 || len(res.Similarity[0]) != 10 || len(res.Texts) != 10 {
		t.Fatalf("matrix %d×%d, %d texts", len(res.Similarity), len(res.Similarity[0]), len(res.Texts))
	}
	// Each text is the class name of its image: key k has class k mod 5.
	seen := map[string]bool{}
	for i, label := range res.Images {
		var k int
		if _, err := fmt.Sscanf(label, "s%07d", &k); err != nil {
			t.Fatalf("label %q", label)
		}
		seen[label] = true
		if res.Texts[i] != classes[k%len(classes)] {
			t.Errorf("image %s: text %q, want %q", label, res.Texts[i], classes[k%len(classes)])
		}
	}
	if len(seen) != 10 {
		t.Errorf("sample has repeated images: %v", res.Images)
	}
	// Same seed, same sample; the template applies to the class names.
	var so2 bytes.Buffer
	args = []string{"similarity", "--model", model, "--dataset", ds, "--sample", "10", "--seed", "1", "--template", "a photo of a {}.", "--json"}
	if err := run(context.Background(), args, &so2, &se); err != nil {
		t.Fatal(err)
	}
	var res2 struct {
		Images []string `json:"images"`
		Texts  []string `json:"texts"`
	}
	json.Unmarshal(so2.Bytes(), &res2)
	if !slices.Equal(res2.Images, res.Images) || res2.Texts[0] != "a photo of a "+res.Texts[0]+"." {
		t.Errorf("seeded sample or template: %v %q", res2.Images, res2.Texts[0])
	}
	if f, err := os.Open(out); err != nil {
		t.Fatal(err)
	} else if _, err := png.Decode(f); err != nil {
		t.Fatal(err)
	}
}
