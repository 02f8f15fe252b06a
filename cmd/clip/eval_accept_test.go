package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/metricsref"
	"github.com/goclip/goclip/synth"
)

// evalJPEG draws a w×h photo-like JPEG for image k (smooth gradients,
// a few discs and noise), as large as ImageNetV2's images.
func evalJPEG(t testing.TB, k, w, h int) []byte {
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(uint64(k), 11))
	type disc struct {
		x, y, rad int
		c         color.RGBA
	}
	var discs []disc
	for range 3 + k%4 {
		discs = append(discs, disc{r.IntN(w), r.IntN(h), 20 + r.IntN(h/3), color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}})
	}
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((k * 29) % 256), 255}
			for _, d := range discs {
				if (x-d.x)*(x-d.x)+(y-d.y)*(y-d.y) < d.rad*d.rad {
					c = d.c
				}
			}
			n := uint8(r.IntN(16))
			c.R, c.G, c.B = c.R^n, c.G^n, c.B^n
			im.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, im, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEvalAcceptanceB32 is the acceptance run, too slow for the
// default test run: set GOCLIP_EVAL_ACCEPT to a directory. It writes there
// a full-size synthetic ViT-B/32 model (b32/) and an ImageNetV2-shaped
// WebDataset (wds/: 600 JPEG images of about 500×375 px in 5 shards, 1,000
// ImageNet classes, a 2-template zeroshot_classification_templates.txt),
// embeds every image and every prompt independently with the clip API,
// picks labels from those rankings (top-1 hits, top-5 hits, misses), runs
// `clip eval --templates both --batch 32`, and checks both settings
// against the independently computed metrics. The folders are kept for
// timing by hand:
//
//	clip bench --model DIR/b32 --batch 32 --duration 60s
//	clip eval --model DIR/b32 --dataset DIR/wds --templates names --batch 32 --out /tmp/r.json
func TestEvalAcceptanceB32(t *testing.T) {
	dir := os.Getenv("GOCLIP_EVAL_ACCEPT")
	if dir == "" {
		t.Skip("set GOCLIP_EVAL_ACCEPT=DIR to run the ImageNetV2-shaped acceptance run (full-size b32, minutes)")
	}
	const n, shards = 600, 5
	model, root := filepath.Join(dir, "b32"), filepath.Join(dir, "wds")
	if _, err := os.Stat(filepath.Join(model, "model.safetensors")); err != nil {
		if err := synth.WriteModel(model, synth.B32(), 0); err != nil {
			t.Fatal(err)
		}
	}
	var images [][]byte
	for k := range n {
		images = append(images, evalJPEG(t, k, 400+k%9*25, 300+k%7*25))
	}
	m, err := clip.Load(model, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	names := clip.ImageNetClasses()
	templates := []string{"a bad photo of a {c}.", "itap of a {c}."}
	t0 := time.Now()
	ns := independentScores(t, m, model, images, names, nil)
	ts := independentScores(t, m, model, images, names, templates)
	t.Logf("independent embeddings: %v", time.Since(t0))
	labels := make([]int, n)
	for i, s := range ns {
		r := metricsref.Ranking(s)
		labels[i] = [3]int{r[0], r[1+i%4], r[10+i%500]}[i%3]
	}
	if g := min(minGap(ns, labels), minGap(ts, labels)); g < fixtureGap {
		t.Logf("warning: near-tied classes (gap %g); a mismatch below may be a tie", g)
	}
	os.RemoveAll(root)
	sizes := make([]int, shards)
	for k := range sizes {
		sizes[k] = (k+1)*n/shards - k*n/shards
	}
	writeWDS(t, root, "jpg", images, labels, sizes, names, templates)

	out := filepath.Join(dir, "results.json")
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"eval", "--model", model, "--dataset", root,
		"--templates", "both", "--batch", "32", "--out", out}, &so, &se); err != nil {
		t.Fatalf("%v\n%s", err, se.String())
	}
	t.Logf("stdout:\n%s\nstderr:\n%s", so.String(), se.String())
	checkMetrics(t, "b32 names", readEvalResults(t, filepath.Join(dir, "results.names.json")), ns, labels, len(names))
	checkMetrics(t, "b32 openai (dataset templates)", readEvalResults(t, filepath.Join(dir, "results.openai.json")), ts, labels, len(names))
}
