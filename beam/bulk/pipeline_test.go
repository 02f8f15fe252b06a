package bulk

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/synth"
)

// TestMain runs the tests on Prism. Beam's loopback mode leaves an empty
// "beamloopbackworker-*" file in os.TempDir() per pipeline (Beam issue
// 27569), so the tests' TMPDIR is a folder of their own, removed after.
func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "goclip-beam-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("TMPDIR", tmp)
	code := ptest.MainRetWithDefault(m, "prism")
	os.RemoveAll(tmp)
	os.Exit(code)
}

// tinyModel writes the synthetic tiny model (real CLIP shapes scaled
// down, 64 px, full vocabulary) once per test binary.
func tinyModel(t testing.TB) string {
	dir := filepath.Join(os.TempDir(), "goclip-beam-tiny-model")
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err != nil {
		tmp := dir + ".tmp" + filepath.Base(t.TempDir())
		if err := synth.WriteModel(tmp, synth.Tiny(), 7); err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(dir)
		if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
	return dir
}

// run runs the pipeline on the Prism runner and returns its counters.
func run(t testing.TB, o Options) (map[string]int64, error) {
	t.Helper()
	ctx := context.Background()
	var parts []Part
	if IsBeamPath(o.Dataset) {
		var err error
		if parts, err = ListFiles(ctx, o.Dataset, 3); err != nil {
			t.Fatal(err)
		}
	} else {
		ds, err := OpenDataset(ctx, o.Dataset, o.Split)
		if err != nil {
			t.Fatal(err)
		}
		if parts, err = ListParts(ds, 3); err != nil {
			t.Fatal(err)
		}
	}
	p, s := beam.NewPipelineWithRoot()
	Build(s, parts, o)
	res, err := prism.Execute(ctx, p)
	if err != nil {
		return nil, err
	}
	counters := map[string]int64{}
	for _, c := range res.Metrics().AllMetrics().Counters() {
		counters[c.Key.Name] += c.Result()
	}
	return counters, nil
}

// reference embeds one file as the core library does (clip embed's path:
// imageproc then EmbedPixels), normalised.
type reference struct {
	m    *clip.Model
	proc *imageproc.Processor
}

func newReference(t testing.TB, dir string) *reference {
	m, err := clip.Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return &reference{m, m.Processor()}
}

func (r *reference) image(t testing.TB, b []byte) []float32 {
	px, err := r.proc.Reader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	e, err := r.m.EmbedPixels(context.Background(), px)
	if err != nil {
		t.Fatal(err)
	}
	clip.Normalize(e)
	return e[0]
}

func (r *reference) text(t testing.TB, s string) []float32 {
	e, err := r.m.EmbedTexts(context.Background(), []string{s})
	if err != nil {
		t.Fatal(err)
	}
	clip.Normalize(e)
	return e[0]
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// minCosine: the pipeline embeds in batches of 4, the reference one image
// at a time; both are float32 and differ only by summation order, which
// keeps the cosine within ~1e-7 of 1 (float32 epsilon); 1e-6 is the
// issue's bar.
const minCosine = 0.999999

// checkOutput reads every part under out and checks it against the
// fixture: one row per good image, no duplicates, embeddings and captions
// equal to the core library's, bad files listed in the summary.
func checkOutput(t *testing.T, out string, fx fixture, ref *reference, float32Out bool) {
	t.Helper()
	metas, _ := filepath.Glob(filepath.Join(out, MetadataDir, "metadata_*.parquet"))
	seen := map[string]bool{}
	texts := 0
	for _, mp := range metas {
		n := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(mp), "metadata_"), ".parquet")
		rows := readParquet(t, mp)
		img := readNpy(t, filepath.Join(out, ImageDir, "img_emb_"+n+".npy"))
		if len(img) != len(rows) {
			t.Fatalf("part %s: %d embeddings, %d metadata rows", n, len(img), len(rows))
		}
		var txt [][]float32
		if tp := filepath.Join(out, TextDir, "text_emb_"+n+".npy"); fileExists(tp) {
			txt = readNpy(t, tp)
			if len(txt) != len(rows) {
				t.Fatalf("part %s: %d text embeddings, %d rows", n, len(txt), len(rows))
			}
		}
		for i, r := range rows {
			path, _ := r["image_path"].(string)
			b, ok := fx.images[path]
			if !ok || seen[path] {
				t.Fatalf("part %s row %d: image_path %q unknown or duplicated", n, i, path)
			}
			seen[path] = true
			want := ref.image(t, b)
			if c := cosine(img[i], want); c < minCosine && float32Out {
				t.Errorf("%s: cosine %.9f to the core library's embedding", path, c)
			}
			if !float32Out {
				for j := range want {
					// float16 rounding: half an ulp, 2^-11 relative, plus the float32 noise.
					if d := math.Abs(float64(img[i][j] - want[j])); d > math.Abs(float64(want[j]))/2048+1e-6 {
						t.Fatalf("%s[%d]: float16 %g vs %g", path, j, img[i][j], want[j])
					}
				}
			}
			caption, hasCaption := fx.captions[path]
			if got, _ := r["caption"].(string); txt != nil && got != caption {
				t.Errorf("%s: caption %q, want %q", path, got, caption)
			}
			if txt != nil && hasCaption {
				texts++
				if c := cosine(txt[i], ref.text(t, caption)); c < minCosine {
					t.Errorf("%s: text cosine %.9f", path, c)
				}
			}
		}
	}
	if len(seen) != len(fx.images) {
		t.Errorf("%d images embedded, want %d", len(seen), len(fx.images))
	}
	if texts != len(fx.captions)-countIn(fx.bad, fx.captions) {
		t.Errorf("%d captions embedded, want %d", texts, len(fx.captions)-countIn(fx.bad, fx.captions))
	}
	sum, err := ReadSummary(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Images != len(fx.images) || len(sum.Bad) != len(fx.bad) {
		t.Fatalf("summary: %d images, bad %q; want %d images, bad %q", sum.Images, sum.Bad, len(fx.images), fx.bad)
	}
	for i, b := range fx.bad {
		if !strings.HasPrefix(sum.Bad[i], b+": ") {
			t.Errorf("bad entry %q does not name %s", sum.Bad[i], b)
		}
	}
}

func countIn(keys []string, m map[string]string) int {
	n := 0
	for _, k := range keys {
		if _, ok := m[k]; ok {
			n++
		}
	}
	return n
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestWebDatasetShards(t *testing.T) {
	model := tinyModel(t)
	in := t.TempDir()
	fx := writeShards(t, in, []int{4, 5, 3})
	out := t.TempDir()
	counters, err := run(t, Options{Model: model, Dataset: in, Output: out, Batch: 4, Float32: true})
	if err != nil {
		t.Fatal(err)
	}
	ref := newReference(t, model)
	checkOutput(t, out, fx, ref, true)
	if counters["images_embedded"] != int64(len(fx.images)) || counters["bad_files_skipped"] != 1 ||
		counters["parts_written"] != 3 || counters["texts_embedded"] != int64(len(fx.images)) {
		t.Errorf("counters %v", counters)
	}
	var shardBytes int64
	for i := range 3 {
		st, _ := os.Stat(filepath.Join(in, "test", string(rune('0'+i))+".tar"))
		shardBytes += st.Size()
	}
	if counters["bytes_read"] != shardBytes {
		t.Errorf("bytes_read %d, shards hold %d", counters["bytes_read"], shardBytes)
	}
	// Metadata columns as clip-retrieval's writer names and types them.
	rows := readParquet(t, filepath.Join(out, MetadataDir, "metadata_0.parquet"))
	r := rows[1]
	want := map[string]any{"image_path": "000000001", "caption": "a photo of thing number 1, colour 4",
		"url": "http://example.com/1.jpg", "key": "000000001", "width": int64(41), "similarity": 0.375,
		"status": "success", "exif.Make": "cam1", "tags": "[1,2]"}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("metadata row 1 %s = %#v, want %#v", k, r[k], v)
		}
	}
	if len(r) != len(want) {
		t.Errorf("metadata columns %v, want those of %v", r, want)
	}
	if rows[3]["caption"] != nil {
		t.Errorf("sample without .txt: caption %v, want null", rows[3]["caption"])
	}
}

func TestFolder(t *testing.T) {
	model := tinyModel(t)
	in := t.TempDir()
	fx := writeFolder(t, in, 8)
	out := t.TempDir()
	if _, err := run(t, Options{Model: model, Dataset: in, Output: out, Batch: 2, Float32: true}); err != nil {
		t.Fatal(err)
	}
	ref := newReference(t, model)
	checkOutput(t, out, fx, ref, true)
	// 8 files in parts of 3: img_emb_0..2.
	got, _ := filepath.Glob(filepath.Join(out, ImageDir, "*"))
	if len(got) != 3 || filepath.Base(got[2]) != "img_emb_2.npy" {
		t.Errorf("image parts %v", got)
	}
}

// TestFloat16: the default output is clip-retrieval's float16, the
// float32 result rounded to nearest even.
func TestFloat16(t *testing.T) {
	model := tinyModel(t)
	in := t.TempDir()
	fx := writeShards(t, in, []int{3, 4})
	out := t.TempDir()
	if _, err := run(t, Options{Model: model, Dataset: in, Output: out, Batch: 4}); err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out, fx, newReference(t, model), false)
}

// TestRetryAndRerunIdempotent: a run whose part 1 fails once after writing
// its image file (Prism fails the job; Dataflow or Flink would retry the
// bundle), then the re-run, then a third run over the finished output all
// leave the same files, byte for byte, as a clean run: no temp files, no
// duplicates.
func TestRetryAndRerunIdempotent(t *testing.T) {
	model := tinyModel(t)
	in := t.TempDir()
	writeShards(t, in, []int{4, 5, 3})
	clean := t.TempDir()
	if _, err := run(t, Options{Model: model, Dataset: in, Output: clean, Batch: 4}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	marker := filepath.Join(t.TempDir(), "failed-once")
	o := Options{Model: model, Dataset: in, Output: out, Batch: 4, FailPart: 1, FailMarker: marker}
	if _, err := run(t, o); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("first attempt: want the injected failure, got %v", err)
	}
	if !fileExists(marker) {
		t.Fatal("the failure was not injected")
	}
	for range 2 {
		if _, err := run(t, o); err != nil {
			t.Fatal(err)
		}
		if a, b := tree(t, clean), tree(t, out); !maps2Equal(a, b) {
			t.Fatalf("output differs from a clean run:\nclean %v\nre-run %v", keys(a), keys(b))
		}
	}
}

func tree(t testing.TB, root string) map[string][]byte {
	m := map[string][]byte{}
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			m[rel] = b
		}
		return nil
	})
	return m
}

func maps2Equal(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

func keys(m map[string][]byte) []string {
	var k []string
	for n, v := range m {
		k = append(k, n+"("+string(rune('0'+len(v)%10))+")")
	}
	sort.Strings(k)
	return slices.Clip(k)
}
