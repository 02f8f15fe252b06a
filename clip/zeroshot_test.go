package clip

import (
	"bytes"
	"context"
	"errors"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goclip/goclip/dataset"
	"github.com/goclip/goclip/internal/testref"
)

// fakeEmbedder maps every text to a deterministic pseudo-random vector
// (not normalised, so the classifier's own normalisation is exercised) and
// records the batch sizes it was called with.
type fakeEmbedder struct {
	dim     int
	scale   float32
	batches []int
	calls   int
	failAt  int // fail on this call number (1-based), 0: never
}

func fakeVec(text string, dim int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(text))
	z := h.Sum64()
	v := make([]float32, dim)
	for i := range v {
		z = z*6364136223846793005 + 1442695040888963407
		// values in [-1,1) scaled by a text-dependent factor 1..4
		v[i] = float32(int64(z>>11)) / float32(1<<52) * float32(1+z%4)
	}
	return v
}

func (f *fakeEmbedder) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	f.calls++
	if f.calls == f.failAt {
		return nil, errors.New("boom")
	}
	f.batches = append(f.batches, len(texts))
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = fakeVec(t, f.dim)
	}
	return out, nil
}

func (f *fakeEmbedder) LogitScale() float32 { return f.scale }

func unit64(v []float32) []float64 {
	n := norm64(v)
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x) / n
	}
	return out
}

// The class embedding is normalize(mean_t normalize(embed(template_t(class)))),
// written out independently here.
func TestClassifierEnsembling(t *testing.T) {
	classes := []string{"cat", "dog", "hot dog"}
	templates := []string{"a photo of a {}.", "a {} in a video game.", "art of the {}."}
	f := &fakeEmbedder{dim: 16, scale: 100}
	c, err := NewClassifier(context.Background(), f, classes, &ClassifierOptions{Templates: templates, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	for ci, cl := range classes {
		mean := make([]float64, 16)
		for _, tm := range templates {
			u := unit64(fakeVec(strings.ReplaceAll(tm, "{}", cl), 16))
			for i := range mean {
				mean[i] += u[i] / float64(len(templates))
			}
		}
		var n float64
		for _, x := range mean {
			n += x * x
		}
		n = math.Sqrt(n)
		for i := range mean {
			// float32 rounding of a unit vector's components: ≤ 2^-24 relative
			if d := math.Abs(mean[i]/n - float64(c.Weights[ci][i])); d > 1e-7 {
				t.Fatalf("class %q dim %d: got %g want %g", cl, i, c.Weights[ci][i], mean[i]/n)
			}
		}
	}
	// 9 texts in batches of 4: 4, 4, 1.
	if !reflect.DeepEqual(f.batches, []int{4, 4, 1}) {
		t.Errorf("batches %v, want [4 4 1]", f.batches)
	}
	if c.Scale != 100 {
		t.Errorf("scale %v", c.Scale)
	}
}

func TestClassifierNoTemplatesUsesNames(t *testing.T) {
	f := &fakeEmbedder{dim: 8, scale: 50}
	c, err := NewClassifier(context.Background(), f, []string{"tench", "goldfish"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for ci, cl := range []string{"tench", "goldfish"} {
		u := unit64(fakeVec(cl, 8))
		for i := range u {
			if math.Abs(u[i]-float64(c.Weights[ci][i])) > 1e-7 { // float32 rounding of a unit vector
				t.Fatalf("class %q not its own name's embedding", cl)
			}
		}
	}
}

// Batch boundaries split classes; the result must not depend on them.
func TestClassifierBatchSizeInvariant(t *testing.T) {
	classes := ImageNetClasses()[:7]
	tm := ImageNetTemplates()[:5]
	var ref *Classifier
	for _, bs := range []int{1, 3, 7, 35, 1000} {
		var prog []int
		c, err := NewClassifier(context.Background(), &fakeEmbedder{dim: 12, scale: 1}, classes,
			&ClassifierOptions{Templates: tm, BatchSize: bs, Progress: func(d, n int) {
				if n != 35 {
					t.Errorf("progress total %d, want 35", n)
				}
				prog = append(prog, d)
			}})
		if err != nil {
			t.Fatal(err)
		}
		if prog[len(prog)-1] != 35 || len(prog) != (35+bs-1)/bs {
			t.Errorf("batch %d: progress %v", bs, prog)
		}
		if ref == nil {
			ref = c
			continue
		}
		for i := range c.Weights {
			for j := range c.Weights[i] {
				// same float64 sums in the same order: identical results
				if c.Weights[i][j] != ref.Weights[i][j] {
					t.Fatalf("batch %d differs at [%d][%d]", bs, i, j)
				}
			}
		}
	}
}

func TestClassifierCancelAndErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	f := &fakeEmbedder{dim: 4, scale: 1}
	_, err := NewClassifier(ctx, f, ImageNetClasses(), &ClassifierOptions{
		Templates: ImageNetTemplates(), BatchSize: 100,
		Progress: func(d, n int) {
			calls++
			if calls == 2 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) || f.calls != 2 {
		t.Fatalf("err %v after %d calls, want context.Canceled after 2", err, f.calls)
	}
	if _, err := NewClassifier(context.Background(), &fakeEmbedder{dim: 4, failAt: 2}, []string{"a", "b", "c"},
		&ClassifierOptions{BatchSize: 1}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("embedder error not returned: %v", err)
	}
	bad := []struct {
		classes []string
		opts    *ClassifierOptions
	}{
		{nil, nil},
		{[]string{"a", ""}, nil},
		{[]string{"a"}, &ClassifierOptions{Templates: []string{"no placeholder"}}},
	}
	for _, b := range bad {
		if _, err := NewClassifier(context.Background(), &fakeEmbedder{dim: 4}, b.classes, b.opts); err == nil {
			t.Errorf("classes %q opts %+v: no error", b.classes, b.opts)
		}
	}
	// A hand-built classifier with ragged class embeddings: an error, not
	// an index out of range.
	ragged := &Classifier{Classes: []string{"a", "b"}, Weights: [][]float32{{1, 0}, {1}}, Scale: 100}
	if _, err := ragged.Classify([][]float32{{1, 1}}, 1); err == nil || !strings.Contains(err.Error(), "class embedding 1") {
		t.Errorf("ragged classifier: %v", err)
	}
}

func TestClassifyTopK(t *testing.T) {
	c := &Classifier{
		Classes: []string{"x", "y", "z"},
		Weights: [][]float32{{1, 0}, {0, 1}, {-1, 0}},
		Scale:   10,
	}
	// image at 30° from x: cos = 0.866 (x), 0.5 (y), -0.866 (z); unnormalised input.
	img := [][]float32{{3 * float32(math.Sqrt(3)) / 2, 1.5}}
	p, err := c.Classify(img, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 1 || len(p[0]) != 2 || p[0][0].Class != "x" || p[0][1].Class != "y" {
		t.Fatalf("got %+v", p)
	}
	l := []float64{10 * math.Sqrt(3) / 2, 5, -10 * math.Sqrt(3) / 2}
	z := math.Exp(l[0]) + math.Exp(l[1]) + math.Exp(l[2])
	for r, want := range []float64{math.Exp(l[0]) / z, math.Exp(l[1]) / z} {
		// float32 output of a float64 softmax: relative rounding 6e-8
		if math.Abs(float64(p[0][r].Prob)-want) > 1e-6 {
			t.Errorf("rank %d prob %v want %v", r, p[0][r].Prob, want)
		}
		if math.Abs(float64(p[0][r].Logit)-l[r]) > 1e-5 { // float32 of values ≈ 10
			t.Errorf("rank %d logit %v want %v", r, p[0][r].Logit, l[r])
		}
	}
	all := TopK([]float32{0.2, 0.2, 0.9}, 100, nil, 0)
	if len(all) != 3 || all[0].Index != 2 || all[1].Index != 0 || all[2].Index != 1 {
		t.Errorf("TopK order/ties: %+v", all)
	}
	var s float64
	for _, q := range all {
		s += float64(q.Prob)
	}
	if math.Abs(s-1) > 1e-6 { // three float32 roundings of probabilities
		t.Errorf("probabilities sum to %v", s)
	}
	if _, err := c.Classify([][]float32{{1, 2, 3}}, 1); err == nil {
		t.Error("wrong dimension accepted")
	}
	if _, err := c.Classify([][]float32{{0, 0}}, 1); err == nil {
		t.Error("zero embedding accepted")
	}
}

func TestClassifierSaveLoad(t *testing.T) {
	c, err := NewClassifier(context.Background(), &fakeEmbedder{dim: 10, scale: 100}, []string{"caf\u00e9", "naïve \"quoted\"", "b"},
		&ClassifierOptions{Templates: []string{"a {}."}, Model: "synthetic"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.safetensors")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadClassifier(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip differs:\n%+v\n%+v", got, c)
	}
	// No templates: an empty JSON list, loaded as nil.
	c.Templates = nil
	var buf bytes.Buffer
	if err := c.Write(&buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if got, msg := parseClassifier(b); msg != "" || len(got.Templates) != 0 {
		t.Fatalf("no-template round trip: %q %+v", msg, got)
	}
	// Corruptions: every one a ClassifierFileError, never a panic.
	corrupt := map[string][]byte{
		"empty":     {},
		"truncated": b[:len(b)-4],
		"huge hdr":  append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, b[8:]...),
		"not json":  append(append([]byte{}, b[:8]...), bytes.Repeat([]byte{'x'}, len(b)-8)...),
	}
	nan := append([]byte{}, b...)
	copy(nan[len(nan)-4:], []byte{0, 0, 0xc0, 0x7f})
	corrupt["nan"] = nan
	for name, data := range corrupt {
		p := filepath.Join(t.TempDir(), "bad")
		os.WriteFile(p, data, 0o644)
		var fe *ClassifierFileError
		if _, err := LoadClassifier(p); !errors.As(err, &fe) {
			t.Errorf("%s: error %v, want ClassifierFileError", name, err)
		}
	}
}

func TestBuiltinPrompts(t *testing.T) {
	cl, tm, st := ImageNetClasses(), ImageNetTemplates(), ImageNetSimpleTemplates()
	if len(cl) != 1000 || len(tm) != 80 || len(st) != 7 {
		t.Fatalf("got %d classes, %d templates, %d simple", len(cl), len(tm), len(st))
	}
	if cl[0] != "tench" || cl[999] != "toilet paper" || tm[0] != "a bad photo of a {}." {
		t.Errorf("unexpected entries %q %q %q", cl[0], cl[999], tm[0])
	}
	for _, x := range append(tm, st...) {
		if strings.Count(x, "{}") != 1 {
			t.Errorf("template %q", x)
		}
	}
	cl[0] = "changed"
	if ImageNetClasses()[0] != "tench" {
		t.Error("ImageNetClasses returns shared storage")
	}
	if ApplyTemplate("a photo of a {}.", "tench") != "a photo of a tench." {
		t.Error("ApplyTemplate")
	}
}

// Independent check: the built-in lists equal the shared reference's.
func TestBuiltinPromptsMatchReference(t *testing.T) {
	dir := filepath.Join(testref.Dir(t), "prompts")
	for file, got := range map[string][]string{
		"imagenet_classes.txt":   ImageNetClasses(),
		"imagenet_templates.txt": ImageNetTemplates(),
	} {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		want, err := dataset.ReadLines(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs from the shared reference", file)
		}
	}
}
