package bulk

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"
)

// toMemfs copies every file under the local folder root to memfs under
// prefix (memfs://name/...), keeping relative paths.
func toMemfs(t *testing.T, root, prefix string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		memfs.Write(prefix+"/"+filepath.ToSlash(rel), b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// memfsTree maps the files under a memfs prefix to their bytes, by name
// relative to the prefix.
func memfsTree(t *testing.T, prefix string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	fs := memfs.New(ctx)
	top, err := fs.List(ctx, prefix+"/*")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := fs.List(ctx, prefix+"/*/*")
	if err != nil {
		t.Fatal(err)
	}
	names := append(top, sub...)
	m := map[string][]byte{}
	for _, n := range names {
		b, err := filesystem.Read(ctx, fs, n)
		if err != nil {
			t.Fatal(err)
		}
		m[strings.TrimPrefix(n, prefix+"/")] = b
	}
	return m
}

// TestBeamFileSystemShards: WebDataset shards read and outputs written
// through Beam's file systems, on Prism — a local glob and memfs:// (the
// in-process file system; gs:// is the same code with Beam's gcs
// package) — give the same bytes as the local dataset.Open route.
func TestBeamFileSystemShards(t *testing.T) {
	model := tinyModel(t)
	in := t.TempDir()
	writeShards(t, in, []int{4, 5, 3})
	want := t.TempDir()
	if _, err := run(t, Options{Model: model, Dataset: in, Output: want, Batch: 4}); err != nil {
		t.Fatal(err)
	}
	wantTree := tree(t, want)

	globOut := t.TempDir()
	if _, err := run(t, Options{Model: model, Dataset: filepath.Join(in, "test", "*.tar"), Output: globOut, Batch: 4}); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, globOut); !maps2Equal(wantTree, got) {
		t.Errorf("local glob input: output %v, want %v", keys(got), keys(wantTree))
	}

	toMemfs(t, filepath.Join(in, "test"), "memfs://shards")
	counters, err := run(t, Options{Model: model, Dataset: "memfs://shards/*.tar", Output: "memfs://shards-out", Batch: 4})
	if err != nil {
		t.Fatal(err)
	}
	got := memfsTree(t, "memfs://shards-out")
	if !maps2Equal(wantTree, got) {
		t.Errorf("memfs input and output: output %v, want %v", keys(got), keys(wantTree))
	}
	if counters["parts_written"] != 3 || counters["images_embedded"] == 0 {
		t.Errorf("counters %v", counters)
	}
	sum, err := ReadSummary(context.Background(), "memfs://shards-out")
	if err != nil || sum.Parts != 3 {
		t.Errorf("summary %+v, %v", sum, err)
	}
}

// TestBeamFileSystemFolder: a folder of images with sidecar captions on
// memfs embeds to the same bytes as the local folder; image_path is the
// memfs path, and the corrupt file is reported by it.
func TestBeamFileSystemFolder(t *testing.T) {
	model := tinyModel(t)
	in := t.TempDir()
	fx := writeFolder(t, in, 8)
	want := t.TempDir()
	if _, err := run(t, Options{Model: model, Dataset: in, Output: want, Batch: 2}); err != nil {
		t.Fatal(err)
	}
	toMemfs(t, in, "memfs://folder")
	if _, err := run(t, Options{Model: model, Dataset: "memfs://folder", Output: "memfs://folder-out", Batch: 2}); err != nil {
		t.Fatal(err)
	}
	wantTree, got := tree(t, want), memfsTree(t, "memfs://folder-out")
	if len(got) != len(wantTree) {
		t.Fatalf("memfs output %v, want %v", keys(got), keys(wantTree))
	}
	for name, b := range wantTree {
		if strings.HasSuffix(name, ".npy") && !bytes.Equal(got[name], b) {
			t.Errorf("%s differs from the local folder's", name)
		}
	}
	sum, err := ReadSummary(context.Background(), "memfs://folder-out")
	if err != nil {
		t.Fatal(err)
	}
	local, err := ReadSummary(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Images != len(fx.images) || sum.Texts != local.Texts || sum.Bytes != local.Bytes || len(sum.Bad) != 1 ||
		!strings.HasPrefix(sum.Bad[0], "memfs://folder/img002.png: ") {
		t.Errorf("summary %+v", sum)
	}
	rows := readParquetBytes(t, "metadata_0", got["metadata/metadata_0.parquet"])
	if rows[0]["image_path"] != "memfs://folder/img000.png" || rows[0]["caption"] != "caption of file 0" {
		t.Errorf("metadata row 0 %v", rows[0])
	}
}

// TestCaptionsFile: one caption per line, matched to a folder's images by
// sorted order, local and on memfs; the text embeddings equal the core
// library's for each line (the bad image drops its line with it), an
// empty line is a null caption, and a file whose line count is not the
// image count or a WebDataset input is refused.
func TestCaptionsFile(t *testing.T) {
	ctx := context.Background()
	model := tinyModel(t)
	in := t.TempDir()
	fx := writeFolder(t, in, 8) // sidecars on even images: the file must win
	lines := []string{"zero", "one", "two", "", "four", "five six", "seven", "eight"}
	capFile := filepath.Join(t.TempDir(), "captions.txt")
	if err := os.WriteFile(capFile, []byte(strings.Join(lines, "\r\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := OpenDataset(ctx, in, "")
	if err != nil {
		t.Fatal(err)
	}
	parts, err := ListParts(ds, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCaptions(ctx, capFile, parts); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := run(t, Options{Model: model, Dataset: in, Output: out, Batch: 2, Float32: true, Captions: capFile}); err != nil {
		t.Fatal(err)
	}
	ref := newReference(t, model)
	row := 0
	for part := range 3 {
		img, txt, meta := PartFiles(out, part, 3)
		rows := readParquet(t, meta)
		te := readNpy(t, txt)
		if len(te) != len(rows) || len(readNpy(t, img)) != len(rows) {
			t.Fatalf("part %d: %d text rows, %d metadata rows", part, len(te), len(rows))
		}
		for r, m := range rows {
			i := row + r
			if i >= 2 { // image 2 is the corrupt one: skipped with its caption
				i++
			}
			want := lines[i]
			if got, _ := m["caption"].(string); got != want || (want == "" && m["caption"] != nil) {
				t.Errorf("part %d row %d: caption %#v, want line %d %q", part, r, m["caption"], i, want)
			}
			if c := cosine(te[r], ref.text(t, want)); c < 0.999999 {
				t.Errorf("part %d row %d: text embedding cosine %.7f to line %d's", part, r, c, i)
			}
		}
		row += len(rows)
	}
	if row != len(fx.images) {
		t.Errorf("%d rows, want %d", row, len(fx.images))
	}

	// The same on memfs (captions file and images read through Beam).
	toMemfs(t, in, "memfs://capfolder")
	memfs.Write("memfs://captions.txt", []byte(strings.Join(lines, "\n")))
	if _, err := run(t, Options{Model: model, Dataset: "memfs://capfolder", Output: "memfs://capout", Batch: 2, Float32: true, Captions: "memfs://captions.txt"}); err != nil {
		t.Fatal(err)
	}
	got := memfsTree(t, "memfs://capout")
	for name, b := range tree(t, out) {
		if strings.HasPrefix(name, "text_emb/") && !bytes.Equal(got[name], b) {
			t.Errorf("memfs %s differs from the local run's", name)
		}
	}

	short := filepath.Join(t.TempDir(), "short.txt")
	os.WriteFile(short, []byte("a\nb\n"), 0o644)
	if err := CheckCaptions(ctx, short, parts); err == nil || !strings.Contains(err.Error(), "2 lines for 8 images") {
		t.Errorf("short captions file: %v", err)
	}
	shards := t.TempDir()
	writeShards(t, shards, []int{2})
	sds, _ := OpenDataset(ctx, shards, "")
	sparts, _ := ListParts(sds, 3)
	if err := CheckCaptions(ctx, capFile, sparts); err == nil || !strings.Contains(err.Error(), "WebDataset") {
		t.Errorf("captions with shards: %v", err)
	}
}
