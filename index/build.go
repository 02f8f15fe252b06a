package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Item is one image offered to Build.
type Item struct {
	Record        // ID (required and unique), Path or Source/Key, Label, Class, Size, MTime; SHA256 is filled by Build
	Data   []byte // the encoded image
}

// Embedder embeds encoded images for Build.
type Embedder interface {
	// EmbedEncoded returns one embedding per image (any scale; Build
	// normalises). A row is nil when that image cannot be decoded, and
	// errs[i] (errs nil or as long as images) says why; err fails the
	// build (for example a cancelled context).
	EmbedEncoded(ctx context.Context, images [][]byte) (rows [][]float32, errs []error, err error)
	// Dim is the embedding dimension.
	Dim() int
}

// BuildOptions configure Build. A nil *BuildOptions means the defaults.
type BuildOptions struct {
	Model, Revision string   // recorded in the manifest; an older index is reused only when both match
	DType           string   // Float32 (default) or Float16
	BatchSize       int      // images per EmbedEncoded call and per checkpoint; default 32
	Roots           []string // recorded in the manifest
	// Skip is called for every item that is not indexed (bad image,
	// duplicate ID, read error); nil ignores them (they are still listed
	// in skipped.jsonl).
	Skip func(id string, err error)
	// Progress, when set, is called after every batch.
	Progress func(s Stats)
}

// Stats counts what Build did.
type Stats struct {
	Seen     int // items offered
	Reused   int // rows taken from the previous index (same content hash)
	Resumed  int // rows taken from the checkpoints of an interrupted build
	Embedded int // rows embedded by this run
	Skipped  int
	Dropped  int // rows of the previous index whose item is gone
}

// Build writes the index in dir for the items (the whole content: rows of
// an existing index whose ID is not among the items are dropped). Images
// whose content hash (SHA-256) is in the existing index or in the
// checkpoints of an interrupted build in dir/.partial are not embedded
// again. After every batch the new embeddings are checkpointed, so an
// interruption (a cancelled ctx, a killed process) loses at most one batch
// and the next Build resumes; the committed index is replaced only at the
// end, by renaming the manifest. Rows are sorted by ID, so the result does
// not depend on the order of items or on interruptions.
func Build(ctx context.Context, dir string, items iter.Seq2[Item, error], emb Embedder, opts *BuildOptions) (Stats, error) {
	var o BuildOptions
	if opts != nil {
		o = *opts
	}
	if o.DType == "" {
		o.DType = Float32
	}
	if o.DType != Float32 && o.DType != Float16 {
		return Stats{}, fmt.Errorf("index: dtype %q, want float32 or float16", o.DType)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 32
	}
	b := &builder{dir: dir, o: o, emb: emb, dim: emb.Dim(), known: map[string][]float32{}, ids: map[string]bool{}}
	if b.dim <= 0 || b.dim > maxDim {
		return Stats{}, fmt.Errorf("index: embedding dimension %d", b.dim)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, &Error{dir, err}
	}
	old, err := b.loadPrevious()
	if err != nil {
		return Stats{}, err
	}
	if err := b.openPartial(); err != nil {
		return Stats{}, err
	}
	for it, err := range items {
		if err != nil {
			var ie *ItemError
			if errors.As(err, &ie) {
				b.skip(ie.ID, ie.Err)
				continue
			}
			return b.stats, err
		}
		if err := b.add(ctx, it); err != nil {
			return b.stats, err
		}
	}
	if err := b.flush(ctx); err != nil {
		return b.stats, err
	}
	for id := range old {
		if !b.ids[id] {
			b.stats.Dropped++
		}
	}
	if err := b.commit(); err != nil {
		return b.stats, err
	}
	return b.stats, nil
}

// ItemError is an item that could not be read; Build skips it.
type ItemError struct {
	ID  string
	Err error
}

func (e *ItemError) Error() string { return e.ID + ": " + e.Err.Error() }
func (e *ItemError) Unwrap() error { return e.Err }

type row struct {
	rec Record
	vec []float32 // normalised; nil until embedded
}

type builder struct {
	dir     string
	o       BuildOptions
	emb     Embedder
	dim     int
	known   map[string][]float32 // content hash → normalised embedding (previous index, checkpoints, this run)
	ids     map[string]bool
	rows    []row
	pending []int           // indexes into rows waiting for a batch
	data    [][]byte        // their encoded images
	partial map[string]bool // hashes loaded from checkpoints
	skipped []skipLine
	chunk   int // next checkpoint number
	stats   Stats
}

type skipLine struct {
	ID    string `json:"id"`
	Error string `json:"error"`
}

func (b *builder) skip(id string, err error) {
	b.stats.Skipped++
	b.skipped = append(b.skipped, skipLine{id, err.Error()})
	if b.o.Skip != nil {
		b.o.Skip(id, err)
	}
}

// loadPrevious fills known from the committed index, if there is one made
// with the same model, revision and dimension (and a dtype at least as
// precise), and returns its IDs.
func (b *builder) loadPrevious() (map[string]bool, error) {
	if _, err := os.Stat(filepath.Join(b.dir, manifestFile)); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	m, recs, vecs, err := load(b.dir)
	if err != nil {
		return nil, fmt.Errorf("%w (remove the directory to start again)", err)
	}
	ids := make(map[string]bool, len(recs))
	for _, r := range recs {
		ids[r.ID] = true
	}
	if m.Model != b.o.Model || m.Revision != b.o.Revision || m.Dim != b.dim || (m.DType == Float16 && b.o.DType == Float32) {
		return ids, nil
	}
	for i, r := range recs {
		b.known[r.SHA256] = vecs[i*b.dim : (i+1)*b.dim : (i+1)*b.dim]
	}
	return ids, nil
}

func (b *builder) add(ctx context.Context, it Item) error {
	b.stats.Seen++
	if it.ID == "" {
		b.skip("(no id)", errors.New("item without an ID"))
		return nil
	}
	if b.ids[it.ID] {
		b.skip(it.ID, errors.New("duplicate ID"))
		return nil
	}
	b.ids[it.ID] = true
	sum := sha256.Sum256(it.Data)
	it.SHA256 = hex.EncodeToString(sum[:])
	it.Size = int64(len(it.Data))
	r := row{rec: it.Record}
	if v, ok := b.known[it.SHA256]; ok {
		r.vec = v
		if b.partialHas(it.SHA256) {
			b.stats.Resumed++
		} else {
			b.stats.Reused++
		}
		b.rows = append(b.rows, r)
		return nil
	}
	b.rows = append(b.rows, r)
	b.pending = append(b.pending, len(b.rows)-1)
	b.data = append(b.data, it.Data)
	if len(b.pending) >= b.o.BatchSize {
		return b.flush(ctx)
	}
	return nil
}

// flush embeds the pending items and checkpoints the new embeddings.
func (b *builder) flush(ctx context.Context) error {
	if len(b.pending) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Identical images within the batch are embedded once.
	var uniq [][]byte
	first := map[string]int{}
	for i, ri := range b.pending {
		h := b.rows[ri].rec.SHA256
		if _, ok := first[h]; !ok {
			first[h] = len(uniq)
			uniq = append(uniq, b.data[i])
		}
	}
	vecs, errs, err := b.emb.EmbedEncoded(ctx, uniq)
	if err != nil {
		return err
	}
	if len(vecs) != len(uniq) {
		return fmt.Errorf("index: embedder returned %d rows for %d images", len(vecs), len(uniq))
	}
	var fresh []chunkLine
	for i, v := range vecs {
		if v == nil {
			continue
		}
		if len(v) != b.dim {
			return fmt.Errorf("index: embedder returned dimension %d, want %d", len(v), b.dim)
		}
		v = slices.Clone(v)
		normalize(v)
		vecs[i] = v
	}
	for _, ri := range b.pending {
		r := &b.rows[ri]
		u := first[r.rec.SHA256]
		if vecs[u] == nil {
			e := errors.New("could not be decoded")
			if u < len(errs) && errs[u] != nil {
				e = errs[u]
			}
			b.skip(r.rec.ID, e)
			continue
		}
		if _, ok := b.known[r.rec.SHA256]; !ok {
			b.known[r.rec.SHA256] = vecs[u]
			fresh = append(fresh, chunkLine{r.rec.SHA256, vecs[u]})
		}
		r.vec = vecs[u]
		b.stats.Embedded++
	}
	b.pending, b.data = b.pending[:0], b.data[:0]
	if err := b.checkpoint(fresh); err != nil {
		return err
	}
	if b.o.Progress != nil {
		b.o.Progress(b.stats)
	}
	return nil
}

// final returns the rows that have embeddings, sorted by ID.
func (b *builder) final() []row {
	out := make([]row, 0, len(b.rows))
	for _, r := range b.rows {
		if r.vec != nil {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(x, y row) int { return strings.Compare(x.rec.ID, y.rec.ID) })
	return out
}
