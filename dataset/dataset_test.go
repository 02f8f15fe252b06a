package dataset

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goclip/goclip/hub"
	"github.com/goclip/goclip/hub/hubtest"
)

// pngBytes encodes a small image whose colour encodes i, so each sample's
// content is distinct and checkable.
func pngBytes(t testing.TB, i int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	for p := 0; p < len(img.Pix); p += 4 {
		img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = byte(i), byte(i>>8), 7, 255
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type member struct {
	name string
	data []byte
}

func tarBytes(t testing.TB, ms []member) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range ms {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(m.data)
	}
	tw.Close()
	return b.Bytes()
}

// shardMembers makes samples first..first+n-1 shaped like ImageNetV2's
// WebDataset: s%07d.png (standing in for .webp) and s%07d.cls.
func shardMembers(t testing.TB, first, n, classes int) []member {
	var ms []member
	for i := first; i < first+n; i++ {
		key := fmt.Sprintf("s%07d", i)
		ms = append(ms, member{key + ".cls", []byte(fmt.Sprint(i % classes))}, member{key + ".png", pngBytes(t, i)})
	}
	return ms
}

// writeWDS writes a dataset root: test/nshards.txt, test/K.tar with the
// given shard sizes, classnames.txt and templates.
func writeWDS(t testing.TB, root string, sizes []int, classes int) {
	os.MkdirAll(filepath.Join(root, "test"), 0o755)
	first := 0
	for k, n := range sizes {
		os.WriteFile(filepath.Join(root, "test", fmt.Sprintf("%d.tar", k)), tarBytes(t, shardMembers(t, first, n, classes)), 0o644)
		first += n
	}
	os.WriteFile(filepath.Join(root, "test", "nshards.txt"), []byte(fmt.Sprintln(len(sizes))), 0o644)
	var cn strings.Builder
	for c := range classes {
		fmt.Fprintf(&cn, "class %d\n", c)
	}
	os.WriteFile(filepath.Join(root, ClassnamesFile), []byte(cn.String()), 0o644)
	os.WriteFile(filepath.Join(root, TemplatesFile), []byte("a photo of a {c}.\r\nitap of a {c}.\n"), 0o644)
}

func collect(t testing.TB, d *Dataset) []Sample {
	var out []Sample
	for s, err := range d.Samples(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func checkSample(t testing.TB, s Sample, i, classes int) {
	t.Helper()
	if s.Key != fmt.Sprintf("s%07d", i) || s.Label != i%classes || s.Format != "png" || !bytes.Equal(s.Image, pngBytes(t, i)) {
		t.Errorf("sample %d: key %q label %d format %q (%d bytes)", i, s.Key, s.Label, s.Format, len(s.Image))
	}
	if _, err := png.Decode(bytes.NewReader(s.Image)); err != nil {
		t.Errorf("sample %d: image does not decode: %v", i, err)
	}
}

func TestWebDatasetLocal(t *testing.T) {
	root := t.TempDir()
	writeWDS(t, root, []int{4, 3, 5}, 3)
	d, err := Open(context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != WebDataset || len(d.Shards()) != 3 {
		t.Fatalf("kind %s shards %v", d.Kind, d.Shards())
	}
	if !slices.Equal(d.Classnames, []string{"class 0", "class 1", "class 2"}) ||
		!slices.Equal(d.Templates, []string{"a photo of a {c}.", "itap of a {c}."}) {
		t.Errorf("texts %q %q", d.Classnames, d.Templates)
	}
	ss := collect(t, d)
	if len(ss) != 12 {
		t.Fatalf("%d samples, want 12", len(ss))
	}
	for i, s := range ss {
		checkSample(t, s, i, 3)
	}
	counts, err := d.Counts(context.Background())
	if err != nil || !slices.Equal(counts, []int{4, 3, 5}) {
		t.Errorf("counts %v %v", counts, err)
	}
	// A single shard file opens too.
	d1, err := Open(context.Background(), filepath.Join(root, "test", "1.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ss = collect(t, d1)
	if len(ss) != 3 || ss[0].Key != "s0000004" {
		t.Errorf("single shard: %d samples, first %q", len(ss), ss[0].Key)
	}
}

func TestShardGrouping(t *testing.T) {
	p := pngBytes(t, 1)
	ms := []member{
		{"a/x.0.cls", []byte(" 5\n")}, {"a/x.0.JPG", p}, {"a/x.0.png", p}, // key "a/x", ext "0.cls"… not images
		{"b.webp", p}, {"b.png", []byte("other")}, {"b.cls", []byte("2")}, // webp preferred
		{"noext", []byte("ignored")},
		{"c.jpeg", p}, // no label
	}
	var got []Sample
	err := ReadShard(context.Background(), bytes.NewReader(tarBytes(t, ms)), "g.tar", func(s Sample) error {
		got = append(got, s)
		return nil
	})
	// "a/x" has members 0.cls, 0.jpg, 0.png: none is an image extension.
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Key != "a/x" || fe.Shard != "g.tar" {
		t.Fatalf("want a FormatError for sample a/x, got %v", err)
	}
	got = nil
	err = ReadShard(context.Background(), bytes.NewReader(tarBytes(t, ms[3:])), "g.tar", func(s Sample) error {
		got = append(got, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Key != "b" || got[0].Format != "webp" || got[0].Label != 2 ||
		got[1].Key != "c" || got[1].Format != "jpeg" || got[1].Label != -1 {
		t.Errorf("got %+v", got)
	}
	for _, bad := range [][]member{
		{{"d.png", p}, {"d.cls", []byte("x")}},
		{{"d.png", p}, {"d.png", p}},
		{{"d.png", p}, {"d.cls", []byte("-1")}},
	} {
		if err := ReadShard(context.Background(), bytes.NewReader(tarBytes(t, bad)), "bad.tar", func(Sample) error { return nil }); !errors.As(err, &fe) {
			t.Errorf("%v: want FormatError, got %v", bad[1].name, err)
		}
	}
}

// TestCaptionMembers: a sample's .txt and .json members (img2dataset's
// caption and metadata) come with it, byte for byte, and do not leak into
// the next sample; a sample without them has them empty.
func TestCaptionMembers(t *testing.T) {
	p := pngBytes(t, 1)
	ms := []member{
		{"000.jpg", p}, {"000.txt", []byte("a red fox\n")}, {"000.json", []byte(`{"url":"http://x/1.jpg","key":"000"}`)},
		{"001.jpg", p},
		{"002.txt", []byte("only text")}, {"002.png", p},
	}
	var got []Sample
	if err := ReadShard(context.Background(), bytes.NewReader(tarBytes(t, ms)), "c.tar", func(s Sample) error {
		got = append(got, s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d samples, want 3", len(got))
	}
	if got[0].Text != "a red fox\n" || string(got[0].JSON) != `{"url":"http://x/1.jpg","key":"000"}` {
		t.Errorf("sample 000: text %q json %q", got[0].Text, got[0].JSON)
	}
	if got[1].Text != "" || got[1].JSON != nil {
		t.Errorf("sample 001 has no .txt/.json, got text %q json %q", got[1].Text, got[1].JSON)
	}
	if got[2].Text != "only text" || got[2].JSON != nil || got[2].Format != "png" {
		t.Errorf("sample 002: %+v", got[2])
	}
}

func TestTruncatedShard(t *testing.T) {
	root := t.TempDir()
	writeWDS(t, root, []int{3, 3}, 2)
	p := filepath.Join(root, "test", "1.tar")
	b, _ := os.ReadFile(p)
	// Cut inside the second member's content.
	os.WriteFile(p, b[:512+512+512+100], 0o644)
	d, err := Open(context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var last error
	for _, err := range d.Samples(context.Background()) {
		if err != nil {
			last = err
			break
		}
		n++
	}
	if n != 3 || last == nil || !strings.Contains(last.Error(), p) || !errors.Is(last, io.ErrUnexpectedEOF) {
		t.Errorf("after %d samples: %v (want an unexpected-EOF error naming %s)", n, last, p)
	}
	if _, err := d.RandomSample(context.Background(), 2, 1); err == nil {
		t.Error("RandomSample on a truncated shard succeeded")
	}
	// Cut inside content, and exactly at a member boundary (archive/tar
	// alone would take the latter for a clean end).
	for _, cut := range []int{512*3 + 30, 2048} {
		os.WriteFile(p, b[:cut], 0o644)
		err := ReadShard(context.Background(), bytes.NewReader(b[:cut]), p, func(Sample) error { return nil })
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: %v", cut, err)
		}
		f, _ := os.Open(p)
		_, err = walkShard(context.Background(), f, p, 0, func(int) bool { return false }, nil)
		f.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d, headers only: %v", cut, err)
		}
	}
	// A header announcing more than the limit is refused before allocation.
	d.maxBytes = 10
	os.WriteFile(p, b, 0o644)
	if _, err := d.RandomSample(context.Background(), 6, 1); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized member: %v", err)
	}
}

func TestRandomSampleDeterministic(t *testing.T) {
	root := t.TempDir()
	writeWDS(t, root, []int{7, 1, 9, 3}, 4)
	d, _ := Open(context.Background(), root, nil)
	a, err := d.RandomSample(context.Background(), 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := d.RandomSample(context.Background(), 10, 1)
	c, _ := d.RandomSample(context.Background(), 10, 2)
	keys := func(ss []Sample) []string {
		var k []string
		for _, s := range ss {
			k = append(k, s.Key)
		}
		return k
	}
	if !slices.Equal(keys(a), keys(b)) {
		t.Error("same seed, different samples")
	}
	if slices.Equal(keys(a), keys(c)) {
		t.Error("seeds 1 and 2 drew the same samples")
	}
	// The documented algorithm, recomputed independently.
	perm := rand.New(rand.NewPCG(1, 1)).Perm(20)[:10]
	for i, s := range a {
		checkSample(t, s, perm[i], 4)
	}
	// The same samples in one shard give the same draw: the sample does not
	// depend on how the dataset is sharded.
	one := t.TempDir()
	writeWDS(t, one, []int{20}, 4)
	d1, _ := Open(context.Background(), one, nil)
	a1, _ := d1.RandomSample(context.Background(), 10, 1)
	if !slices.Equal(keys(a), keys(a1)) {
		t.Errorf("sharding changed the draw: %v vs %v", keys(a), keys(a1))
	}
	all, _ := d.RandomSample(context.Background(), 100, 3)
	k := keys(all)
	slices.Sort(k)
	if len(k) != 20 || len(slices.Compact(k)) != 20 {
		t.Errorf("n > total: %d samples, duplicates?", len(all))
	}
}

func TestImageFolderAndPlainFolder(t *testing.T) {
	root := t.TempDir()
	for i, f := range []string{"zebra/b.png", "zebra/a.PNG", "ant/x/y.jpg", "ant/z.txt", "cat/c.webp"} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(root, f), pngBytes(t, i), 0o644)
	}
	d, err := Open(context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != ImageFolder || !slices.Equal(d.Classnames, []string{"ant", "cat", "zebra"}) {
		t.Fatalf("kind %s classes %v", d.Kind, d.Classnames)
	}
	var got []string
	for _, s := range collect(t, d) {
		got = append(got, fmt.Sprintf("%s:%d:%s", s.Key, s.Label, s.Format))
	}
	want := []string{"ant/x/y.jpg:0:jpg", "cat/c.webp:1:webp", "zebra/a.PNG:2:png", "zebra/b.png:2:png"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
	// classnames.txt with one line per class gives readable names.
	os.WriteFile(filepath.Join(root, ClassnamesFile), []byte("ant\ncat\nzebra stripes\n"), 0o644)
	d, _ = Open(context.Background(), root, nil)
	if d.Classnames[2] != "zebra stripes" {
		t.Errorf("classnames %v", d.Classnames)
	}

	plain := filepath.Join(root, "zebra")
	d, err = Open(context.Background(), plain, nil)
	if err != nil || d.Kind != Images || d.Len() != 2 {
		t.Fatalf("plain folder: %v %v", d, err)
	}
	ss := collect(t, d)
	if ss[0].Key != "a.PNG" || ss[0].Label != -1 {
		t.Errorf("plain sample %+v", ss[0])
	}
	r1, _ := d.RandomSample(context.Background(), 1, 5)
	if len(r1) != 1 {
		t.Error("plain folder sample")
	}
	if _, err := Open(context.Background(), t.TempDir(), nil); err == nil {
		t.Error("empty folder accepted")
	}
}

func TestHubDataset(t *testing.T) {
	for _, k := range []string{"HF_HUB_CACHE", "HF_HOME", "HF_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT"} {
		t.Setenv(k, "")
	}
	srv := hubtest.New()
	defer srv.Close()
	src := t.TempDir()
	writeWDS(t, src, []int{5, 5, 2}, 3)
	files := map[string][]byte{}
	for _, f := range []string{"classnames.txt", TemplatesFile, "test/nshards.txt", "test/0.tar", "test/1.tar", "test/2.tar"} {
		b, _ := os.ReadFile(filepath.Join(src, f))
		files[f] = b
	}
	srv.AddRepo("dataset", "clip-benchmark/wds_tiny", files)
	cache := t.TempDir()
	c := hub.New(&hub.Config{CacheDir: cache, Endpoint: srv.URL})
	d, err := Open(context.Background(), "clip-benchmark/wds_tiny", &Options{Hub: c})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Classnames) != 3 || len(d.Templates) != 2 || len(d.Shards()) != 3 {
		t.Fatalf("hub dataset %v %v %v", d.Classnames, d.Templates, d.Shards())
	}
	s, err := d.RandomSample(context.Background(), 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	perm := rand.New(rand.NewPCG(1, 1)).Perm(12)[:4]
	for i := range s {
		checkSample(t, s[i], perm[i], 3)
	}
	// Now offline: everything comes from the cache.
	off := hub.New(&hub.Config{CacheDir: cache, Endpoint: "http://127.0.0.1:1", Offline: true})
	d, err = Open(context.Background(), "clip-benchmark/wds_tiny", &Options{Hub: off})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(collect(t, d)); n != 12 {
		t.Errorf("offline: %d samples", n)
	}
	// Without nshards.txt the shards are found with the tree API.
	delete(files, "test/nshards.txt")
	srv.AddRepo("dataset", "org/nonshards", files)
	d, err = Open(context.Background(), "org/nonshards", &Options{Hub: c})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Shards(); len(got) != 3 || got[2] != "org/nonshards/test/2.tar" {
		t.Errorf("listed shards %v", got)
	}
	p, err := d.ShardPath(context.Background(), 2)
	if b, _ := os.ReadFile(p); err != nil || !bytes.Equal(b, files["test/2.tar"]) {
		t.Errorf("ShardPath: %v", err)
	}
}

// FuzzReadShard feeds arbitrary bytes (seeded with valid, truncated and
// mangled shards) to the shard reader: it must return samples or an error,
// never panic, hang or allocate past the member limit.
func FuzzReadShard(f *testing.F) {
	good := tarBytes(f, shardMembers(f, 0, 3, 2))
	f.Add(good)
	f.Add(good[:700])
	f.Add(good[:1500])
	f.Add([]byte{})
	m := append([]byte(nil), good...)
	copy(m[124:136], "77777777777\x00") // huge size field
	f.Add(m)
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		_, _ = walkShard(context.Background(), bytes.NewReader(b), "fuzz.tar", 1<<20, func(int) bool { return true }, func(_ int, s Sample) error {
			if s.Image == nil || s.Key == "" {
				t.Fatalf("sample without image or key: %+v", s)
			}
			n++
			return nil
		})
	})
}

var _ = color.RGBA{}

// TestHubDatasetRevision opens "org/name@rev": every file comes from that
// commit, also when the cache's main points at another one, and a revision
// the Hub does not have is an error.
func TestHubDatasetRevision(t *testing.T) {
	for _, k := range []string{"HF_HUB_CACHE", "HF_HOME", "HF_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT"} {
		t.Setenv(k, "")
	}
	srv := hubtest.New()
	defer srv.Close()
	publish := func(sizes []int, classes int) (string, map[string][]byte) {
		src := t.TempDir()
		writeWDS(t, src, sizes, classes)
		files := map[string][]byte{}
		for _, f := range []string{"classnames.txt", TemplatesFile, "test/nshards.txt"} {
			files[f], _ = os.ReadFile(filepath.Join(src, f))
		}
		for k := range sizes {
			f := fmt.Sprintf("test/%d.tar", k)
			files[f], _ = os.ReadFile(filepath.Join(src, f))
		}
		return srv.AddRepo("dataset", "org/wds", files), files
	}
	ctx := context.Background()
	cache := t.TempDir()
	c := hub.New(&hub.Config{CacheDir: cache, Endpoint: srv.URL})
	// Version 1: 2 shards (3+2 samples), 3 classes, opened by commit.
	v1, _ := publish([]int{3, 2}, 3)
	d, err := Open(ctx, "org/wds@"+v1, &Options{Hub: c})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Classnames) != 3 || len(collect(t, d)) != 5 {
		t.Fatalf("v1: %d classes, want 3", len(d.Classnames))
	}
	// Version 2 on the Hub: 3 shards (4+4+1), 5 classes; main moves there.
	v2, files2 := publish([]int{4, 4, 1}, 5)
	d, err = Open(ctx, "org/wds@main", &Options{Hub: c})
	if err != nil {
		t.Fatal(err)
	}
	ss := collect(t, d)
	if len(d.Classnames) != 5 || len(ss) != 9 {
		t.Fatalf("v2 at main: %d classes, %d samples; want 5, 9", len(d.Classnames), len(ss))
	}
	for i, s := range ss {
		checkSample(t, s, i, 5)
	}
	p, err := d.ShardPath(ctx, 2)
	if err != nil || !strings.Contains(p, v2) {
		t.Errorf("shard 2 at %s (%v), want the snapshot of %s", p, err, v2)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, files2["test/2.tar"]) {
		t.Errorf("shard 2 content differs from v2's")
	}
	// Offline, each commit opens from its own snapshot.
	off := hub.New(&hub.Config{CacheDir: cache, Endpoint: "http://127.0.0.1:1", Offline: true})
	for _, tc := range []struct {
		rev              string
		classes, samples int
	}{{v1, 3, 5}, {v2, 5, 9}} {
		d, err := Open(ctx, "org/wds@"+tc.rev, &Options{Hub: off})
		if err != nil {
			t.Fatalf("offline @%s: %v", tc.rev[:7], err)
		}
		ss := collect(t, d)
		if len(d.Classnames) != tc.classes || len(ss) != tc.samples {
			t.Errorf("offline @%s: %d classes, %d samples; want %d, %d", tc.rev[:7], len(d.Classnames), len(ss), tc.classes, tc.samples)
		}
		for i, s := range ss {
			checkSample(t, s, i, tc.classes)
		}
	}
	// A commit the Hub does not have, and malformed specs.
	if _, err := Open(ctx, "org/wds@"+strings.Repeat("0", 40), &Options{Hub: c}); !errors.Is(err, hub.ErrRevisionNotFound) {
		t.Errorf("unknown revision: %v, want ErrRevisionNotFound", err)
	}
	for _, bad := range []string{"org/wds@", "org/wds@a/../b"} {
		if _, err := Open(ctx, bad, &Options{Hub: c}); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}
