package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/dataset"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/index"
)

// runIndex dispatches `clip index build|search|export`.
func runIndex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = `usage: clip index build  --model M --out INDEX [--dtype float32|float16] [--batch N] DIR|DATASET...
       clip index search [--model M] [--k 10] [--json] INDEX (TEXT | --image FILE)
       clip index export --format faiss --out FILE.faiss INDEX`
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, synopsis)
		if len(args) == 0 {
			return errors.New("index: want a subcommand: build, search or export")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "build":
		return runIndexBuild(ctx, args[1:], stdout, stderr)
	case "search":
		return runIndexSearch(ctx, args[1:], stdout, stderr)
	case "export":
		return runIndexExport(args[1:], stdout, stderr)
	}
	return fmt.Errorf("index: unknown subcommand %q (want build, search or export)", args[0])
}

// parseAnywhere parses flags that may come before, between or after the
// positional arguments, and returns the positional arguments.
func parseAnywhere(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

func runIndexBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("index build", "usage: clip index build --model M --out INDEX [--dtype float32|float16] [--batch N] DIR|DATASET...", stderr)
	model := fs.String("model", defaultModel, "model folder or Hugging Face Hub id (org/name[@revision])")
	out := fs.String("out", "", "index directory (created; an existing index there is updated)")
	dtype := fs.String("dtype", index.Float32, "stored embedding type: float32, or float16 (half the size)")
	batch := fs.Int("batch", 32, "images per forward pass and per checkpoint")
	srcs, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(srcs) == 0 {
		return errors.New("index build: want --out INDEX and at least one folder or dataset")
	}
	if *batch <= 0 || *batch > 4096 {
		return errors.New("index build: --batch must be in 1…4096")
	}
	m, dir, err := loadModel(ctx, *model, stderr)
	if err != nil {
		return fmt.Errorf("index build: %w", err)
	}
	defer m.Close()
	emb := newImageEmbedder(m)
	items, roots, err := indexSources(ctx, srcs, stderr)
	if err != nil {
		return fmt.Errorf("index build: %w", err)
	}
	start := time.Now()
	last := start
	st, err := index.Build(ctx, *out, items, emb, &index.BuildOptions{
		Model: *model, Revision: revisionOf(dir), DType: *dtype, BatchSize: *batch, Roots: roots,
		Skip: func(id string, err error) { fmt.Fprintf(stderr, "skipped %s: %v\n", id, err) },
		Progress: func(s index.Stats) {
			if time.Since(last) > 5*time.Second {
				last = time.Now()
				fmt.Fprintf(stderr, "%d seen, %d embedded (%.1f img/s), %d reused\n", s.Seen, s.Embedded, float64(s.Embedded)/time.Since(start).Seconds(), s.Reused+s.Resumed)
			}
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "interrupted after %d embedded; run the same command again to resume\n", st.Embedded)
		}
		return fmt.Errorf("index build: %w", err)
	}
	el := time.Since(start)
	fmt.Fprintf(stdout, "indexed %d images in %s: %d embedded (%.1f img/s), %d reused, %d resumed, %d dropped, %d skipped\n",
		st.Seen-st.Skipped, el.Round(time.Millisecond), st.Embedded, float64(st.Embedded)/el.Seconds(), st.Reused, st.Resumed, st.Dropped, st.Skipped)
	return nil
}

// revisionOf returns the commit of a Hugging Face cache snapshot folder
// (…/snapshots/<commit>), or "" for a plain folder.
func revisionOf(dir string) string {
	if filepath.Base(filepath.Dir(dir)) == "snapshots" {
		return filepath.Base(dir)
	}
	return ""
}

// imageEmbedder adapts a model and its preprocessor to index.Embedder:
// images are decoded in parallel, the good ones embedded in one call.
type imageEmbedder struct {
	m    *clip.Model
	proc *imageproc.Processor
}

func newImageEmbedder(m *clip.Model) *imageEmbedder { return &imageEmbedder{m, m.Processor()} }

func (e *imageEmbedder) Dim() int { return e.m.EmbedDim() }

func (e *imageEmbedder) EmbedEncoded(ctx context.Context, imgs [][]byte) ([][]float32, []error, error) {
	px := make([][]float32, len(imgs))
	errs := make([]error, len(imgs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, b := range imgs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			px[i], errs[i] = e.proc.Reader(bytes.NewReader(b))
		}()
	}
	wg.Wait()
	var flat []float32
	var good []int
	for i, p := range px {
		if errs[i] == nil {
			flat = append(flat, p...)
			good = append(good, i)
		}
	}
	rows := make([][]float32, len(imgs))
	if len(good) == 0 {
		return rows, errs, ctx.Err()
	}
	out, err := e.m.EmbedPixels(ctx, flat)
	if err != nil {
		return nil, nil, err
	}
	for j, i := range good {
		rows[i] = out[j]
	}
	return rows, errs, nil
}

// indexSources turns the build's arguments into one item sequence: a
// folder of images (no .tar shards, no nshards.txt) is walked
// recursively; anything else is opened as a dataset (WebDataset shards,
// a .tar, a Hub dataset id). It also returns the absolute roots.
func indexSources(ctx context.Context, srcs []string, stderr io.Writer) (iter.Seq2[index.Item, error], []string, error) {
	var seqs []iter.Seq2[index.Item, error]
	var roots []string
	for _, s := range srcs {
		if isImageFolder(s) {
			abs, err := filepath.Abs(s)
			if err != nil {
				return nil, nil, err
			}
			roots = append(roots, abs)
			seqs = append(seqs, index.Files([]string{abs}))
			continue
		}
		ds, err := dataset.Open(ctx, s, &dataset.Options{Hub: newHubClient(stderr)})
		if err != nil {
			return nil, nil, err
		}
		if abs, err := filepath.Abs(s); err == nil && fileExists(abs) {
			s = abs
		}
		roots = append(roots, s)
		seqs = append(seqs, datasetItems(ctx, ds))
	}
	return func(yield func(index.Item, error) bool) {
		for _, seq := range seqs {
			for it, err := range seq {
				if !yield(it, err) {
					return
				}
			}
		}
	}, roots, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// isImageFolder reports whether s is a directory that is not a WebDataset.
func isImageFolder(s string) bool {
	st, err := os.Stat(s)
	if err != nil || !st.IsDir() {
		return false
	}
	for _, pat := range []string{"*.tar", "nshards.txt", "*/nshards.txt", "*/*.tar"} {
		if m, _ := filepath.Glob(filepath.Join(s, pat)); len(m) > 0 {
			return false
		}
	}
	return true
}

// datasetItems yields a dataset's samples as index items, ID
// "source#key"; a malformed sample ends the sequence with its error.
func datasetItems(ctx context.Context, ds *dataset.Dataset) iter.Seq2[index.Item, error] {
	return func(yield func(index.Item, error) bool) {
		for s, err := range ds.Samples(ctx) {
			if err != nil {
				yield(index.Item{}, err)
				return
			}
			rec := index.Record{ID: s.Source + "#" + s.Key, Source: s.Source, Key: s.Key, Label: s.Label}
			if ds.Kind != dataset.WebDataset {
				// Folder datasets: the sample is a file.
				rec.Path = s.Source
			}
			if s.Label >= 0 && s.Label < len(ds.Classnames) {
				rec.Class = ds.Classnames[s.Label]
			}
			if !yield(index.Item{Record: rec, Data: s.Image}, nil) {
				return
			}
		}
	}
}

func runIndexExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("index export", "usage: clip index export --format faiss --out FILE.faiss INDEX", stderr)
	format := fs.String("format", "faiss", "faiss: a FAISS IndexFlatIP file (faiss.read_index); ids are metadata rows")
	out := fs.String("out", "", "output file")
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		return errors.New("index export: want --out FILE and one INDEX")
	}
	if *format != "faiss" {
		return fmt.Errorf("index export: format %q (want faiss)", *format)
	}
	f, err := os.CreateTemp(filepath.Dir(*out), ".tmp-"+filepath.Base(*out)+"-*")
	if err != nil {
		return fmt.Errorf("index export: %w", err)
	}
	defer os.Remove(f.Name())
	if err := index.ExportFAISS(pos[0], f); err != nil {
		f.Close()
		return fmt.Errorf("index export: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("index export: %w", err)
	}
	if err := os.Rename(f.Name(), *out); err != nil {
		return fmt.Errorf("index export: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s (FAISS IndexFlatIP; id i = line i+1 of the index's metadata file)\n", *out)
	return nil
}

// searchResult is one line of `clip index search --json`.
type searchResult struct {
	Rank  int     `json:"rank"`
	Score float32 `json:"score"`
	Row   int     `json:"row"`
	index.Record
}

func runIndexSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("index search", "usage: clip index search [--model M] [--k 10] [--json] INDEX (TEXT | --image FILE)", stderr)
	model := fs.String("model", "", "model (default: the one the index was built with)")
	k := fs.Int("k", 10, "results to print")
	img := fs.String("image", "", "query image file (image-to-image search)")
	asJSON := fs.Bool("json", false, "print a JSON array")
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || (*img == "") == (len(pos) == 1) || len(pos) > 2 {
		return errors.New("index search: want INDEX and either a TEXT or --image FILE")
	}
	ix, err := index.Open(pos[0])
	if err != nil {
		return fmt.Errorf("index search: %w", err)
	}
	if *model == "" {
		*model = ix.Manifest().Model
	}
	m, _, err := loadModel(ctx, *model, stderr)
	if err != nil {
		return fmt.Errorf("index search: %w", err)
	}
	defer m.Close()
	if m.EmbedDim() != ix.Dim() {
		return fmt.Errorf("index search: the model embeds in %d dimensions, the index holds %d", m.EmbedDim(), ix.Dim())
	}
	var q [][]float32
	if *img != "" {
		emb := newImageEmbedder(m)
		data, err := os.ReadFile(*img)
		if err != nil {
			return fmt.Errorf("index search: %w", err)
		}
		rows, errs, err := emb.EmbedEncoded(ctx, [][]byte{data})
		if err == nil && errs[0] != nil {
			err = fmt.Errorf("%s: %w", *img, errs[0])
		}
		if err != nil {
			return fmt.Errorf("index search: %w", err)
		}
		q = rows
	} else if q, err = m.EmbedTexts(ctx, pos[1:]); err != nil {
		return fmt.Errorf("index search: %w", err)
	}
	hits, err := ix.Search(q, *k)
	if err != nil {
		return fmt.Errorf("index search: %w", err)
	}
	res := make([]searchResult, len(hits[0]))
	for i, h := range hits[0] {
		res[i] = searchResult{i + 1, h.Score, h.Row, ix.Record(h.Row)}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	for _, r := range res {
		name := r.Path
		if name == "" {
			name = r.ID
		}
		fmt.Fprintf(stdout, "%3d  %.4f  %s\n", r.Rank, r.Score, strings.TrimSpace(name))
	}
	return nil
}
