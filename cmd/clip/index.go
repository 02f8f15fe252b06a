package main

import (
	"context"
	"encoding/json"
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
	"github.com/goclip/goclip/cmd/clip/internal/pixblock"
	"github.com/goclip/goclip/dataset"
	"github.com/goclip/goclip/index"
)

const (
	indexBuildHelp = `usage: clip index build [--model M] --out INDEX [--dtype float32|float16] [--batch N] DIR|DATASET...

Embeds every image of the folders and datasets into an on-disk index
(package index); an existing index at --out is updated, reusing the rows
of unchanged files, and an interrupted build resumes when run again.
Images that do not decode are skipped, each named on stderr.

arguments:
  DIR|DATASET...   image folders (walked recursively), WebDataset folders
                   or shards, or Hub dataset ids`
	indexSearchHelp = `usage: clip index search [--model M] [--k 10] [--json] INDEX (TEXT | --image FILE)

Prints the index's best matches for a text or an image, best first, with
their cosine scores.

arguments:
  INDEX   an index folder written by clip index build
  TEXT    the query text (or give --image FILE instead)`
	indexExportHelp = `usage: clip index export --format faiss --out FILE.faiss INDEX

Writes the index's embeddings as a FAISS IndexFlatIP file
(faiss.read_index); id i is line i+1 of the index's metadata file.

arguments:
  INDEX   an index folder written by clip index build`
)

// runIndex dispatches `clip index build|search|export`.
func runIndex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{cmd: "index", msg: "want a subcommand: build, search or export"}
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		for _, sub := range []string{"build", "search", "export"} {
			if sub != "build" {
				fmt.Fprintln(stdout)
			}
			runIndex(ctx, []string{sub, "--help"}, stdout, stderr)
		}
		return errHelp
	case "build":
		return runIndexBuild(ctx, args[1:], stdout, stderr)
	case "search":
		return runIndexSearch(ctx, args[1:], stdout, stderr)
	case "export":
		return runIndexExport(args[1:], stdout)
	}
	return &usageError{cmd: "index", msg: fmt.Sprintf("unknown subcommand %q (want build, search or export)", args[0])}
}

func runIndexBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCmdFlags("index build", indexBuildHelp)
	model := fs.String("model", defaultModel, "model folder or Hugging Face Hub id (org/name[@revision])")
	var prec clip.Precision
	precisionVar(fs.FlagSet, &prec)
	out := fs.String("out", "", "index directory (created; an existing index there is updated)")
	dtype := fs.String("dtype", index.Float32, "stored embedding type: float32, or float16 (half the size)")
	batch := fs.Int("batch", 32, "images per forward pass and per checkpoint")
	srcs, err := fs.parse(args, stdout)
	if err != nil {
		return err
	}
	if *out == "" || len(srcs) == 0 {
		return fs.usage("want --out INDEX and at least one folder or dataset")
	}
	if *batch <= 0 || *batch > 4096 {
		return fs.usage("--batch must be in 1…4096")
	}
	dir, err := resolveModel(ctx, *model, stderr)
	if err != nil {
		return err
	}
	m, err := openModel(dir, prec, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	emb := &imageEmbedder{m, pixblock.New(m, nil)}
	items, roots, err := indexSources(ctx, srcs, stderr)
	if err != nil {
		return err
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
		return err
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
	m  *clip.Model
	pm *pixblock.Model // preprocessing and embedding (patch grids for SigLIP 2 NaFlex)
}

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
			px[i], errs[i] = e.pm.Encoded(b)
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
	out, err := e.pm.EmbedPixels(ctx, flat)
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
		ds, err := openDataset(ctx, s, "", stderr)
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

func runIndexExport(args []string, stdout io.Writer) error {
	fs := newCmdFlags("index export", indexExportHelp)
	format := fs.String("format", "faiss", "faiss: a FAISS IndexFlatIP file (faiss.read_index); ids are metadata rows")
	out := fs.String("out", "", "output file")
	pos, err := fs.parse(args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		return fs.usage("want --out FILE and one INDEX")
	}
	if *format != "faiss" {
		return fs.usage("format %q (want faiss)", *format)
	}
	if err := writeFileAtomic(*out, func(w io.Writer) error { return index.ExportFAISS(pos[0], w) }); err != nil {
		return err
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
	fs := newCmdFlags("index search", indexSearchHelp)
	model := fs.String("model", "", "model (default: the one the index was built with)")
	var prec clip.Precision
	precisionVar(fs.FlagSet, &prec)
	k := fs.Int("k", 10, "results to print")
	img := fs.String("image", "", "query image file (image-to-image search)")
	asJSON := fs.Bool("json", false, "print a JSON array")
	pos, err := fs.parse(args, stdout)
	if err != nil {
		return err
	}
	if len(pos) < 1 || (*img == "") == (len(pos) == 1) || len(pos) > 2 {
		return fs.usage("want INDEX and either a TEXT or --image FILE")
	}
	ix, err := index.Open(pos[0])
	if err != nil {
		return err
	}
	if *model == "" {
		*model = ix.Manifest().Model
	}
	m, err := loadModel(ctx, *model, prec, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	if m.EmbedDim() != ix.Dim() {
		return fmt.Errorf("the model embeds in %d dimensions, the index holds %d", m.EmbedDim(), ix.Dim())
	}
	var q [][]float32
	if *img != "" {
		if q, err = m.EmbedFiles(ctx, []string{*img}, nil); err != nil {
			return err
		}
	} else if q, err = m.EmbedTexts(ctx, pos[1:]); err != nil {
		return err
	}
	hits, err := ix.Search(q, *k)
	if err != nil {
		return err
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
