package index

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// hashEmbedder stands in for a model in the tests of the index logic
// (the real model is used by cmd/clip's tests): a deterministic vector
// from the image bytes, and "BAD" images fail to decode. It counts the
// images it embeds and can cancel the build after a number of calls.
type hashEmbedder struct {
	dim         int
	images      atomic.Int64
	calls       atomic.Int64
	cancelAfter int64 // cancel on this call (1-based); 0 never
	cancel      context.CancelFunc
}

func (e *hashEmbedder) Dim() int { return e.dim }

func (e *hashEmbedder) EmbedEncoded(ctx context.Context, imgs [][]byte) ([][]float32, []error, error) {
	if n := e.calls.Add(1); e.cancelAfter > 0 && n == e.cancelAfter {
		e.cancel()
		return nil, nil, context.Canceled
	}
	rows := make([][]float32, len(imgs))
	errs := make([]error, len(imgs))
	for i, b := range imgs {
		if bytes.HasPrefix(b, []byte("BAD")) {
			errs[i] = errors.New("not an image")
			continue
		}
		rows[i] = hashVec(b, e.dim)
	}
	e.images.Add(int64(len(imgs)))
	return rows, errs, nil
}

func hashVec(b []byte, dim int) []float32 {
	s := sha256.Sum256(b)
	r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(s[:]), 7))
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64()) * 3
	}
	return v
}

func writeImages(t *testing.T, dir string, n int) {
	t.Helper()
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("d%d", i%3))
		os.MkdirAll(sub, 0o755)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("img%03d.jpg", i)), []byte(fmt.Sprintf("image %d", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func build(t *testing.T, ix, src string, e *hashEmbedder, ctx context.Context) (Stats, error) {
	t.Helper()
	return Build(ctx, ix, Files([]string{src}), e, &BuildOptions{Model: "m", Revision: "r", BatchSize: 4, Roots: []string{src}})
}

func TestBuildSearch(t *testing.T) {
	src, ixDir := t.TempDir(), t.TempDir()
	writeImages(t, src, 10)
	os.WriteFile(filepath.Join(src, "bad.png"), []byte("BAD data"), 0o644)
	os.WriteFile(filepath.Join(src, "notes.txt"), []byte("not indexed"), 0o644)
	e := &hashEmbedder{dim: 8}
	var skipped []string
	st, err := Build(context.Background(), ixDir, Files([]string{src}), e, &BuildOptions{Model: "m", BatchSize: 4, Skip: func(id string, err error) { skipped = append(skipped, id) }})
	if err != nil {
		t.Fatal(err)
	}
	if st.Embedded != 10 || st.Skipped != 1 || len(skipped) != 1 || filepath.Base(skipped[0]) != "bad.png" {
		t.Fatalf("stats %+v, skipped %v", st, skipped)
	}
	ix, err := Open(ixDir)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 10 || ix.Dim() != 8 || ix.Manifest().Skipped != 1 {
		t.Fatalf("len %d dim %d manifest %+v", ix.Len(), ix.Dim(), ix.Manifest())
	}
	for i := range ix.Len() {
		r := ix.Record(i)
		if i > 0 && ix.Record(i-1).ID >= r.ID {
			t.Fatalf("rows not sorted by ID at %d", i)
		}
		data, _ := os.ReadFile(r.Path)
		hits, err := ix.Search([][]float32{hashVec(data, 8)}, 3)
		if err != nil {
			t.Fatal(err)
		}
		// The row's own vector has cosine 1 (within float32 rounding of the
		// two normalisations); random 8-d vectors are far below.
		if hits[0][0].Row != i || hits[0][0].Score < 0.9999 || len(hits[0]) != 3 || hits[0][1].Score > hits[0][0].Score {
			t.Fatalf("row %d: hits %v", i, hits[0])
		}
		if r.Size != int64(len(data)) || r.Label != -1 || r.MTime == "" {
			t.Fatalf("record %+v", r)
		}
	}
	hits, _ := ix.Search([][]float32{make([]float32, 8)}, 100)
	if len(hits[0]) != 10 {
		t.Fatalf("k beyond the index gave %d hits", len(hits[0]))
	}
	for i, h := range hits[0] { // zero query: all scores 0, ties by row
		if h.Row != i {
			t.Fatalf("tie order %v", hits[0])
		}
	}
	if _, err := ix.Search([][]float32{make([]float32, 7)}, 1); err == nil {
		t.Fatal("wrong query dimension accepted")
	}
}

// A second build embeds exactly the changed and new files and drops the
// deleted ones; an unchanged rerun embeds nothing and writes the same bytes.
func TestBuildIncremental(t *testing.T) {
	src, ixDir := t.TempDir(), t.TempDir()
	writeImages(t, src, 20)
	if _, err := build(t, ixDir, src, &hashEmbedder{dim: 8}, context.Background()); err != nil {
		t.Fatal(err)
	}
	before := readIndexFiles(t, ixDir)
	e := &hashEmbedder{dim: 8}
	st, err := build(t, ixDir, src, e, context.Background())
	if err != nil || st.Embedded != 0 || st.Reused != 20 || e.images.Load() != 0 {
		t.Fatalf("unchanged rerun: %+v %v, %d embedded", st, err, e.images.Load())
	}
	if after := readIndexFiles(t, ixDir); after != before {
		t.Fatal("unchanged rerun changed the index files")
	}
	os.WriteFile(filepath.Join(src, "d0", "img000.jpg"), []byte("changed 0"), 0o644)
	os.WriteFile(filepath.Join(src, "d1", "img001.jpg"), []byte("changed 1"), 0o644)
	os.Remove(filepath.Join(src, "d2", "img002.jpg"))
	os.WriteFile(filepath.Join(src, "new.webp"), []byte("new"), 0o644)
	os.WriteFile(filepath.Join(src, "copy.jpg"), []byte("image 5"), 0o644) // same content as img005: no embedding
	e = &hashEmbedder{dim: 8}
	st, err = build(t, ixDir, src, e, context.Background())
	if err != nil || st.Embedded != 3 || e.images.Load() != 3 || st.Dropped != 1 || st.Reused != 18 {
		t.Fatalf("incremental: %+v %v, %d embedded", st, err, e.images.Load())
	}
	ix, err := Open(ixDir)
	if err != nil || ix.Len() != 21 {
		t.Fatalf("%v, %d rows", err, ix.Len())
	}
	entries, _ := os.ReadDir(ixDir)
	if len(entries) != 4 { // manifest, embeddings, metadata, skipped: no stale generation, no .partial
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("index directory holds %v", names)
	}
}

func readIndexFiles(t *testing.T, dir string) string {
	t.Helper()
	m, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, n := range []string{manifestFile, m.Embeddings, m.Metadata} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return string(all)
}

// An interrupted build leaves no index a reader trusts (or the previous
// one intact), and resuming embeds only what was not checkpointed and
// gives the uninterrupted build's bytes.
func TestBuildResume(t *testing.T) {
	src, ref, ixDir := t.TempDir(), t.TempDir(), t.TempDir()
	writeImages(t, src, 30)
	if _, err := build(t, ref, src, &hashEmbedder{dim: 8}, context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &hashEmbedder{dim: 8, cancelAfter: 4, cancel: cancel}
	if _, err := build(t, ixDir, src, e, ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted build: %v", err)
	}
	if _, err := Open(ixDir); err == nil {
		t.Fatal("an interrupted first build left an index that opens")
	}
	e = &hashEmbedder{dim: 8}
	st, err := build(t, ixDir, src, e, context.Background())
	// 3 batches of 4 were checkpointed before the 4th call was cancelled.
	if err != nil || st.Resumed != 12 || st.Embedded != 18 || e.images.Load() != 18 {
		t.Fatalf("resumed: %+v %v, %d embedded", st, err, e.images.Load())
	}
	if readIndexFiles(t, ixDir) != readIndexFiles(t, ref) {
		t.Fatal("resumed index differs from the uninterrupted one")
	}
	// Interrupting an update keeps the committed index readable.
	os.WriteFile(filepath.Join(src, "d0", "img000.jpg"), []byte("changed"), 0o644)
	for i := range 10 {
		os.WriteFile(filepath.Join(src, fmt.Sprintf("z%d.png", i)), []byte(fmt.Sprintf("z %d", i)), 0o644)
	}
	ctx, cancel = context.WithCancel(context.Background())
	e = &hashEmbedder{dim: 8, cancelAfter: 2, cancel: cancel}
	if _, err := build(t, ixDir, src, e, ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted update: %v", err)
	}
	if readIndexFiles(t, ixDir) != readIndexFiles(t, ref) {
		t.Fatal("an interrupted update changed the committed index")
	}
	if st, err := build(t, ixDir, src, &hashEmbedder{dim: 8}, context.Background()); err != nil || st.Resumed != 4 || st.Embedded != 7 {
		t.Fatalf("resumed update: %+v %v", st, err)
	}
}

// A manifest naming a damaged file is refused; stray files of a crashed
// commit are ignored.
func TestOpenDamaged(t *testing.T) {
	src, ixDir := t.TempDir(), t.TempDir()
	writeImages(t, src, 5)
	if _, err := build(t, ixDir, src, &hashEmbedder{dim: 8}, context.Background()); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ixDir, "embeddings-0000000000000000.npy"), []byte("half"), 0o644)
	if _, err := Open(ixDir); err != nil {
		t.Fatalf("stray file broke Open: %v", err)
	}
	m, _ := readManifest(ixDir)
	p := filepath.Join(ixDir, m.Embeddings)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)-3], 0o644)
	if _, err := Open(ixDir); err == nil {
		t.Fatal("truncated embeddings accepted")
	}
	os.WriteFile(filepath.Join(ixDir, manifestFile), []byte(`{"format":"goclip-index","version":1,"dim":8,"count":1,"dtype":"float32","embeddings":"../x","metadata":"m"}`), 0o644)
	if _, err := Open(ixDir); err == nil {
		t.Fatal("manifest pointing outside the index accepted")
	}
}
