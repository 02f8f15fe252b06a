package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/evaluate"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/fakewds"
	"github.com/goclip/goclip/internal/metricsref"
	"github.com/goclip/goclip/synth"
)

// evalPNG draws image k: w×h, a diagonal stripe pattern whose colours,
// period and angle depend on k, so every image has distinct content.
func evalPNG(t testing.TB, k, w, h int) []byte {
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	period := 4 + k%13
	for y := range h {
		for x := range w {
			v := ((x*(1+k%3) + y*(1+k%5)) / period) % 2
			c := color.RGBA{uint8(k * 37), uint8(255 - k*11), uint8(k * 71), 255}
			if v == 1 {
				c = color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(k * 5), 255}
			}
			im.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// writeEvalWDS writes a dataset shaped like clip-benchmark/wds_imagenetv2:
// classnames.txt and zeroshot_classification_templates.txt at the root,
// test/nshards.txt and test/0.tar … with s%07d.png + s%07d.cls samples.
func writeEvalWDS(t testing.TB, root string, images [][]byte, labels []int, shardSizes []int, names, templates []string) {
	writeWDS(t, root, "png", images, labels, shardSizes, names, templates)
}

// writeWDS writes images (all encoded as ext) with their labels as
// fakewds.Layout lays them out.
func writeWDS(t testing.TB, root, ext string, images [][]byte, labels []int, shardSizes []int, names, templates []string) {
	t.Helper()
	samples := make([]fakewds.Sample, len(images))
	for i, b := range images {
		samples[i] = fakewds.Sample{Key: fmt.Sprintf("s%07d", i), Ext: ext, Image: b, Label: labels[i]}
	}
	files, err := fakewds.Layout(samples, shardSizes, names, templates)
	if err != nil {
		t.Fatal(err)
	}
	if err := fakewds.WriteDir(root, files); err != nil {
		t.Fatal(err)
	}
}

// independentScores embeds the images and the class prompts with the clip
// API and computes cosine scores [image][class] in float64 without
// clip.Classifier: each prompt embedding normalised, averaged per class,
// renormalised (CLIP's ensembling); templates use CLIP_benchmark's "{c}".
func independentScores(t testing.TB, m *clip.Model, modelDir string, images [][]byte, names, templates []string) [][]float64 {
	ctx := context.Background()
	proc, err := imageproc.LoadProcessor(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	var px []float32
	for _, b := range images {
		p, err := proc.Reader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		px = append(px, p...)
	}
	ie, err := m.EmbedPixels(ctx, px)
	if err != nil {
		t.Fatal(err)
	}
	unit := func(v []float32) []float64 {
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x) / math.Sqrt(n)
		}
		return out
	}
	classEmb := make([][]float64, len(names))
	for c, name := range names {
		prompts := []string{name}
		if len(templates) > 0 {
			prompts = nil
			for _, tp := range templates {
				prompts = append(prompts, strings.ReplaceAll(tp, "{c}", name))
			}
		}
		te, err := m.EmbedTexts(ctx, prompts)
		if err != nil {
			t.Fatal(err)
		}
		sum := make([]float64, m.EmbedDim())
		for _, e := range te {
			for i, x := range unit(e) {
				sum[i] += x
			}
		}
		var norm float64
		for _, x := range sum {
			norm += x * x
		}
		for i := range sum {
			sum[i] /= math.Sqrt(norm)
		}
		classEmb[c] = sum
	}
	scores := make([][]float64, len(images))
	for i, e := range ie {
		u := unit(e)
		scores[i] = make([]float64, len(names))
		for c, w := range classEmb {
			for j := range u {
				scores[i][c] += u[j] * w[j]
			}
		}
	}
	return scores
}

// minGap is the smallest score difference that decides a metric: between
// the label's score and any other class's (the label's rank) and between
// the two best classes (the confusion pair). Rankings closer than float32
// resolution could legitimately differ between the pipeline (float32
// scores) and this float64 check.
func minGap(scores [][]float64, labels []int) float64 {
	g := math.Inf(1)
	for i, s := range scores {
		r := metricsref.Ranking(s)
		g = min(g, s[r[0]]-s[r[1]])
		for c, v := range s {
			if c != labels[i] {
				g = min(g, math.Abs(v-s[labels[i]]))
			}
		}
	}
	return g
}

// evalFixture is a tiny synthetic model and a generated dataset built so
// that the metrics depend on which image goes with which label. A
// synthetic-weight model ranks the classes almost the same way for every
// image, so the fixture picks, from ImageNet's class names, two classes A
// and B whose order does change from image to image, plus classes that
// rank below both; sample i's label is its own top class when i%3 == 0
// (a top-1 hit), the other of A and B when i%3 == 1 (a top-5 hit), and a
// low-ranked class when i%3 == 2 (a miss). An image/label mix-up in the
// pipeline then changes the counts.
type evalFixture struct {
	model, root         string
	images              [][]byte
	labels              []int
	names, templates    []string
	namesScores, tScore [][]float64
}

// fixtureGap is the smallest score difference the fixture allows where a
// ranking decides a metric: the pipeline's cosines are float32 (relative
// error ~6e-8 on values below 1), so 1e-6 keeps its rankings and this
// test's float64 ones equal.
const fixtureGap = 1e-6

func newEvalFixture(t *testing.T, n, classes int, shardSizes []int) *evalFixture {
	t.Helper()
	if classes < 10 {
		t.Fatal("the fixture needs at least 10 classes")
	}
	dir := t.TempDir()
	f := &evalFixture{model: filepath.Join(dir, "model"), root: filepath.Join(dir, "wds")}
	if err := synth.WriteModel(f.model, synth.Tiny(), 3); err != nil {
		t.Fatal(err)
	}
	for k := range n {
		f.images = append(f.images, evalPNG(t, k, 40+k%7*9, 30+k%5*11))
	}
	m, err := clip.Load(f.model, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	pool := clip.ImageNetClasses()
	ps := independentScores(t, m, f.model, f.images, pool, nil)
	// The contested pair: among the 40 classes with the best mean score,
	// the pair whose order flips most evenly over the images with every
	// per-image difference above the gap.
	mean := make([]float64, len(pool))
	for _, s := range ps {
		for c, v := range s {
			mean[c] += v
		}
	}
	top := metricsref.Ranking(mean)[:40]
	bestA, bestB, bestBal := -1, -1, -1
	for x, a := range top {
		for _, b := range top[x+1:] {
			wins, ok := 0, true
			for _, s := range ps {
				ok = ok && math.Abs(s[a]-s[b]) > 10*fixtureGap
				if s[a] > s[b] {
					wins++
				}
			}
			if bal := min(wins, n-wins); ok && bal > bestBal {
				bestA, bestB, bestBal = a, b, bal
			}
		}
	}
	if bestBal < n/5 {
		t.Fatalf("no class pair whose order changes from image to image (best %d of %d)", bestBal, n)
	}
	// Fillers: classes below both A and B for every image.
	var fill []int
	for _, c := range metricsref.Ranking(mean) {
		below := c != bestA && c != bestB
		for _, s := range ps {
			below = below && s[c] < min(s[bestA], s[bestB])-10*fixtureGap
		}
		if below {
			fill = append(fill, c)
		}
		if len(fill) == classes-2 {
			break
		}
	}
	if len(fill) < classes-2 {
		t.Fatalf("only %d classes rank below the contested pair", len(fill))
	}
	// A and B at positions 3 and 7, the rest in rank order.
	order := append([]int(nil), fill[:3]...)
	order = append(order, bestA)
	order = append(order, fill[3:6]...)
	order = append(order, bestB)
	order = append(order, fill[6:]...)
	for _, c := range order {
		f.names = append(f.names, pool[c])
	}
	f.templates = []string{"a photo of a {c}.", "itap of a {c}.", "a drawing of the {c}."}
	f.namesScores = independentScores(t, m, f.model, f.images, f.names, nil)
	f.tScore = independentScores(t, m, f.model, f.images, f.names, f.templates)
	for i, s := range f.namesScores {
		r := metricsref.Ranking(s)
		other := 3 // the index of A
		if r[0] == 3 {
			other = 7 // B
		}
		f.labels = append(f.labels, [3]int{r[0], other, r[7]}[i%3])
	}
	if g := min(minGap(f.namesScores, f.labels), minGap(f.tScore, f.labels)); g < fixtureGap {
		t.Fatalf("fixture has near-tied classes (gap %g): rankings are ambiguous; change the seed", g)
	}
	writeEvalWDS(t, f.root, f.images, f.labels, shardSizes, f.names, f.templates)
	return f
}

func readEvalResults(t *testing.T, path string) *evaluate.Results {
	t.Helper()
	r, err := evaluate.ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkMetrics compares reported metrics with the independent ones.
// Both are ratios of the same integer counts, computed in float64, so
// they agree to rounding (1e-12).
func checkMetrics(t *testing.T, what string, r *evaluate.Results, scores [][]float64, labels []int, classes int) {
	t.Helper()
	a1, a5, mp := metricsref.Metrics(scores, labels, classes)
	got := r.Metrics
	if math.Abs(got.Acc1-a1) > 1e-12 || math.Abs(got.Acc5-a5) > 1e-12 || math.Abs(got.MeanPerClassRecall-mp) > 1e-12 {
		t.Errorf("%s: acc1 %.6f acc5 %.6f mpcr %.6f, independently %.6f %.6f %.6f",
			what, got.Acc1, got.Acc5, got.MeanPerClassRecall, a1, a5, mp)
	}
	if r.Samples != len(labels) || !r.Complete || r.Task != "zeroshot_classification" {
		t.Errorf("%s: samples %d complete %v task %q", what, r.Samples, r.Complete, r.Task)
	}
}

func TestEvalMatchesIndependent(t *testing.T) {
	const n, classes = 70, 25
	f := newEvalFixture(t, n, classes, []int{30, 25, 15})
	out := filepath.Join(t.TempDir(), "res.json")
	var so, se bytes.Buffer
	err := run(context.Background(), []string{"eval", "--model", f.model, "--dataset", f.root,
		"--templates", "both", "--batch", "8", "--out", out}, &so, &se)
	if err != nil {
		t.Fatalf("%v\n%s", err, se.String())
	}
	base := strings.TrimSuffix(out, ".json")
	openai := readEvalResults(t, base+".openai.json")
	names := readEvalResults(t, base+".names.json")
	checkMetrics(t, "names", names, f.namesScores, f.labels, classes)
	checkMetrics(t, "openai (dataset templates)", openai, f.tScore, f.labels, classes)
	// By construction (see evalFixture) a third of the samples are top-1
	// hits and two thirds top-5 hits.
	if want := float64((n+2)/3) / n; math.Abs(names.Metrics.Acc1-want) > 1e-12 {
		t.Errorf("names acc1 %v, want %v by construction", names.Metrics.Acc1, want)
	}
	if want := float64((n+2)/3+(n+1)/3) / n; math.Abs(names.Metrics.Acc5-want) > 1e-12 {
		t.Errorf("names acc5 %v, want %v by construction", names.Metrics.Acc5, want)
	}
	if names.Templates != "names" || openai.Templates != "openai" || names.Dataset != f.root || names.Model != f.model {
		t.Errorf("results fields: %+v", names)
	}

	// The CSVs: per-class support/correct and the confusions.
	csvText, err := os.ReadFile(base + ".names.classes.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csvText)), "\n")
	if len(lines) != classes+1 || lines[0] != "class,name,support,correct,recall" {
		t.Errorf("classes CSV: %d lines, header %q", len(lines), lines[0])
	}
	support := make([]int, classes)
	for _, l := range f.labels {
		support[l]++
	}
	for c := range classes {
		if !strings.HasPrefix(lines[c+1], fmt.Sprintf("%d,%s,%d,", c, f.names[c], support[c])) {
			t.Errorf("classes CSV line %q, want class %d %q support %d", lines[c+1], c, f.names[c], support[c])
		}
	}
	conf, err := os.ReadFile(base + ".names.confusions.csv")
	if err != nil {
		t.Fatal(err)
	}
	wantConf := map[[2]int]int{}
	for i, s := range f.namesScores {
		if p := metricsref.Ranking(s)[0]; p != f.labels[i] {
			wantConf[[2]int{f.labels[i], p}]++
		}
	}
	clines := strings.Split(strings.TrimSpace(string(conf)), "\n")
	if len(clines)-1 != min(50, len(wantConf)) {
		t.Errorf("confusions CSV has %d pairs, want %d", len(clines)-1, len(wantConf))
	}
	for _, l := range clines[1:] {
		var a, p, k int
		fields := strings.Split(l, ",")
		fmt.Sscan(fields[0], &a)
		fmt.Sscan(fields[2], &p)
		fmt.Sscan(fields[4], &k)
		if wantConf[[2]int{a, p}] != k {
			t.Errorf("confusion %q: want count %d", l, wantConf[[2]int{a, p}])
		}
	}
	if !strings.Contains(so.String(), "mean per-class recall") || !strings.Contains(so.String(), "names") {
		t.Errorf("stdout:\n%s", so.String())
	}

	// A single-setting run gives the same numbers as its half of "both",
	// and a batch size that does not divide the shards changes nothing.
	out1 := filepath.Join(t.TempDir(), "names.json")
	if err := run(context.Background(), []string{"eval", "--model", f.model, "--dataset", f.root,
		"--templates", "names", "--batch", "5", "--workers", "1", "--out", out1}, &so, &se); err != nil {
		t.Fatal(err)
	}
	if r := readEvalResults(t, out1); !reflect.DeepEqual(r.Metrics, names.Metrics) || !reflect.DeepEqual(r.Counts, names.Counts) {
		t.Errorf("--templates names alone: %+v, in both: %+v", r.Metrics, names.Metrics)
	}
}

// TestEvalImageFolder lays the same images out as class folders: the
// metrics do not depend on sample order, so they must equal the
// independent ones too.
func TestEvalImageFolder(t *testing.T) {
	const n, classes = 30, 12
	f := newEvalFixture(t, n, classes, []int{n})
	root := filepath.Join(t.TempDir(), "folder")
	for i, b := range f.images {
		d := filepath.Join(root, fmt.Sprintf("c%02d", f.labels[i]))
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, fmt.Sprintf("img%03d.png", i)), b, 0o644)
	}
	// Every class needs a folder for the folder index to be the label.
	for c := range classes {
		os.MkdirAll(filepath.Join(root, fmt.Sprintf("c%02d", c)), 0o755)
	}
	os.WriteFile(filepath.Join(root, "classnames.txt"), []byte(strings.Join(f.names, "\n")), 0o644)
	out := filepath.Join(t.TempDir(), "r.json")
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"eval", "--model", f.model, "--dataset", root,
		"--templates", "names", "--out", out}, &so, &se); err != nil {
		t.Fatalf("%v\n%s", err, se.String())
	}
	checkMetrics(t, "image folder", readEvalResults(t, out), f.namesScores, f.labels, classes)
}

// TestEvalInterruptResume stops a run after k batches (as Ctrl-C does),
// checks the partial results, resumes, and compares with an uninterrupted
// run.
func TestEvalInterruptResume(t *testing.T) {
	const n, classes = 45, 10
	f := newEvalFixture(t, n, classes, []int{20, 15, 10})
	dir := t.TempDir()
	var so, se bytes.Buffer
	full := filepath.Join(dir, "full.json")
	base := evalArgs{model: f.model, ds: f.root, split: "test", templates: "both", batch: 4,
		every: 1, nconf: 50, textBatch: 256}
	a := base
	a.out = full
	if err := evalMain(context.Background(), a, &so, &se); err != nil {
		t.Fatal(err)
	}
	for _, stopAfter := range []int{1, 6} {
		out := filepath.Join(dir, fmt.Sprintf("part%d.json", stopAfter))
		ctx, cancel := context.WithCancel(context.Background())
		a := base
		a.out = out
		batches := 0
		a.afterBatch = func(evaluate.Progress) {
			if batches++; batches == stopAfter {
				cancel()
			}
		}
		se.Reset()
		err := evalMain(ctx, a, &so, &se)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "interrupted") {
			t.Fatalf("interrupted run: err %v", err)
		}
		if !strings.Contains(se.String(), "--resume") {
			t.Errorf("stderr does not say how to resume:\n%s", se.String())
		}
		pbase := strings.TrimSuffix(out, ".json")
		for _, s := range []string{".openai.json", ".names.json"} {
			r := readEvalResults(t, pbase+s)
			if r.Complete || r.Samples != 4*stopAfter {
				t.Errorf("partial %s: complete %v samples %d, want %d", s, r.Complete, r.Samples, 4*stopAfter)
			}
		}
		a.afterBatch, a.resume = nil, true
		if err := evalMain(context.Background(), a, &so, &se); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{".openai.json", ".names.json"} {
			got := readEvalResults(t, pbase+s)
			want := readEvalResults(t, strings.TrimSuffix(full, ".json")+s)
			if !got.Complete || !reflect.DeepEqual(got.Metrics, want.Metrics) || !reflect.DeepEqual(got.Counts, want.Counts) {
				t.Errorf("resumed after %d batches, %s: %+v, uninterrupted %+v", stopAfter, s, got.Metrics, want.Metrics)
			}
		}
	}
	checkMetrics(t, "uninterrupted names", readEvalResults(t, filepath.Join(dir, "full.names.json")), f.namesScores, f.labels, classes)
}

func TestEvalBadInputs(t *testing.T) {
	const n, classes = 12, 10
	f := newEvalFixture(t, n, classes, []int{6, 6})
	dir := t.TempDir()
	evalErr := func(args ...string) (string, error) {
		var so, se bytes.Buffer
		err := run(context.Background(), append([]string{"eval", "--model", f.model, "--templates", "names"}, args...), &so, &se)
		return se.String(), err
	}
	expect := func(what string, err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", what, err, w)
			}
		}
	}
	_, err := evalErr("--dataset", filepath.Join(dir, "nope"), "--out", filepath.Join(dir, "a.json"))
	expect("missing dataset", err, "nope")
	_, err = evalErr("--out", filepath.Join(dir, "a.json"))
	expect("no dataset flag", err, "--dataset is required")
	_, err = evalErr("--dataset", f.root, "--out", filepath.Join(dir, "a.txt"))
	expect("out not json", err, ".json")
	_, err = evalErr("--dataset", f.root, "--out", filepath.Join(dir, "missing", "a.json"))
	expect("out folder missing", err, "does not exist")

	// A shard cut in the middle of a member: the error names the shard
	// (found when counting the samples, before any image is embedded).
	cut := filepath.Join(dir, "cut")
	writeEvalWDS(t, cut, f.images, f.labels, []int{6, 6}, f.names, nil)
	sh := filepath.Join(cut, "test", "1.tar")
	b, _ := os.ReadFile(sh)
	os.WriteFile(sh, b[:len(b)/2], 0o644)
	out := filepath.Join(dir, "cut.json")
	_, err = evalErr("--dataset", cut, "--out", out, "--batch", "3")
	expect("corrupt shard", err, "1.tar", "unexpected EOF")

	// A label beyond the class list.
	bad := filepath.Join(dir, "label")
	labels := append([]int(nil), f.labels...)
	labels[7] = 99
	writeEvalWDS(t, bad, f.images, labels, []int{6, 6}, f.names, nil)
	_, err = evalErr("--dataset", bad, "--out", filepath.Join(dir, "l.json"))
	expect("label out of range", err, "label 99 outside the 10 classes", "s0000007")

	// An image that does not decode: the error names it, and the batches
	// before it are kept as partial results.
	garbage := filepath.Join(dir, "garbage")
	imgs := append([][]byte(nil), f.images...)
	imgs[10] = []byte("\x89PNG\r\n\x1a\nnot really")
	writeEvalWDS(t, garbage, imgs, f.labels, []int{6, 6}, f.names, nil)
	gout := filepath.Join(dir, "g.json")
	_, err = evalErr("--dataset", garbage, "--out", gout, "--batch", "3")
	expect("undecodable image", err, "s0000010", "1.tar")
	if r, rerr := evaluate.ReadResults(gout); rerr != nil || r.Complete || r.Samples != 9 {
		t.Errorf("undecodable image: partial results %+v, %v; want 9 samples, incomplete", r, rerr)
	}

	// --resume without, or with a mismatched, results file.
	_, err = evalErr("--dataset", f.root, "--out", filepath.Join(dir, "none.json"), "--resume")
	expect("resume without results", err, "none.json")
	other := filepath.Join(dir, "other.json")
	if se, err := evalErr("--dataset", f.root, "--out", other); err != nil {
		t.Fatalf("%v\n%s", err, se)
	}
	_, err = evalErr("--dataset", garbage, "--out", other, "--resume")
	expect("resume other dataset", err, "other.json", "dataset")

	// A template file without a placeholder.
	tf := filepath.Join(dir, "t.txt")
	os.WriteFile(tf, []byte("a photo\n"), 0o644)
	var so, se bytes.Buffer
	err = run(context.Background(), []string{"eval", "--model", f.model, "--dataset", f.root, "--templates", tf, "--out", filepath.Join(dir, "t.json")}, &so, &se)
	expect("template without placeholder", err, "placeholder")
}

// TestEvalClassifierFlag reuses a saved classifier with --classifier: the
// class embeddings of an earlier run, with their rows reversed, must give
// the metrics of the reversed score columns (so the file's embeddings,
// not freshly embedded prompts, decide), and a classifier whose class
// count or dimension does not fit is refused with a clear error.
func TestEvalClassifierFlag(t *testing.T) {
	const n, classes = 24, 10
	f := newEvalFixture(t, n, classes, []int{10, 14})
	dir := t.TempDir()
	evalRun := func(args ...string) (string, error) {
		var so, se bytes.Buffer
		err := run(context.Background(), append([]string{"eval", "--model", f.model, "--dataset", f.root, "--batch", "5"}, args...), &so, &se)
		return se.String(), err
	}
	first := filepath.Join(dir, "first.json")
	if se, err := evalRun("--templates", "names", "--out", first); err != nil {
		t.Fatalf("%v\n%s", err, se)
	}
	saved, err := clip.LoadClassifier(filepath.Join(dir, "first.classifier.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	rev := *saved
	rev.Weights = nil
	for i := range saved.Weights {
		rev.Weights = append(rev.Weights, saved.Weights[classes-1-i])
	}
	revPath := filepath.Join(dir, "rev.safetensors")
	if err := rev.Save(revPath); err != nil {
		t.Fatal(err)
	}
	revScores := make([][]float64, n)
	for i, s := range f.namesScores {
		for c := range s {
			revScores[i] = append(revScores[i], s[classes-1-c])
		}
	}
	if g := minGap(revScores, f.labels); g < fixtureGap {
		t.Fatalf("reversed scores have near-tied classes (gap %g); change the fixture", g)
	}
	out := filepath.Join(dir, "reused.json")
	if se, err := evalRun("--classifier", revPath, "--out", out); err != nil {
		t.Fatalf("%v\n%s", err, se)
	}
	r := readEvalResults(t, out)
	checkMetrics(t, "--classifier (rows reversed)", r, revScores, f.labels, classes)
	if r.Templates != "names" {
		t.Errorf("results templates %q, want names (the classifier has none)", r.Templates)
	}
	if a1, _, _ := metricsref.Metrics(f.namesScores, f.labels, classes); a1 == r.Metrics.Acc1 {
		t.Errorf("reversed classifier gives the acc1 of the original (%.4f): the test cannot tell them apart", a1)
	}
	// The unchanged file reproduces the first run; --resume with it too.
	same := filepath.Join(dir, "same.json")
	if se, err := evalRun("--classifier", filepath.Join(dir, "first.classifier.safetensors"), "--templates", "names", "--out", same, "--limit", "10"); err != nil {
		t.Fatalf("%v\n%s", err, se)
	}
	if se, err := evalRun("--classifier", filepath.Join(dir, "first.classifier.safetensors"), "--out", same, "--resume"); err != nil {
		t.Fatalf("%v\n%s", err, se)
	}
	if got, want := readEvalResults(t, same), readEvalResults(t, first); !reflect.DeepEqual(got.Metrics, want.Metrics) || !reflect.DeepEqual(got.Counts, want.Counts) {
		t.Errorf("--classifier with the first run's file, resumed: %+v, first run %+v", got.Metrics, want.Metrics)
	}

	expect := func(what string, err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", what, err, w)
			}
		}
	}
	bad := filepath.Join(dir, "bad.safetensors")
	fewer := *saved
	fewer.Classes, fewer.Weights = saved.Classes[:classes-1], saved.Weights[:classes-1]
	if err := fewer.Save(bad); err != nil {
		t.Fatal(err)
	}
	_, err = evalRun("--classifier", bad, "--out", filepath.Join(dir, "x.json"))
	expect("class count", err, "bad.safetensors", "9 classes", "has 10")
	wide := *saved
	wide.Weights = nil
	for _, w := range saved.Weights {
		wide.Weights = append(wide.Weights, append(append([]float32(nil), w...), 0))
	}
	if err := wide.Save(bad); err != nil {
		t.Fatal(err)
	}
	_, err = evalRun("--classifier", bad, "--out", filepath.Join(dir, "x.json"))
	expect("dimension", err, "bad.safetensors", fmt.Sprintf("%d-dimensional", saved.Dim()+1), fmt.Sprintf("makes %d-dimensional", saved.Dim()))
	_, err = evalRun("--classifier", revPath, "--templates", "both", "--out", filepath.Join(dir, "x.json"))
	expect("both settings", err, "--templates both")
	_, err = evalRun("--classifier", revPath, "--templates", "openai", "--out", filepath.Join(dir, "x.json"))
	expect("templates differ", err, "templates")
	os.WriteFile(bad, []byte("not safetensors"), 0o644)
	_, err = evalRun("--classifier", bad, "--out", filepath.Join(dir, "x.json"))
	expect("not a classifier", err, "bad.safetensors")
}
