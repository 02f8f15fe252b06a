package index

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/goclip/goclip/tensor"
)

// Format names and the version this package writes and reads.
const (
	FormatName    = "goclip-index"
	FormatVersion = 1
	Float32       = "float32"
	Float16       = "float16"
	manifestFile  = "manifest.json"
)

// Manifest is manifest.json.
type Manifest struct {
	Format           string   `json:"format"`  // FormatName
	Version          int      `json:"version"` // FormatVersion
	Model            string   `json:"model"`   // model id or folder given to the build
	Revision         string   `json:"revision,omitempty"`
	Dim              int      `json:"dim"`
	Count            int      `json:"count"`
	DType            string   `json:"dtype"`      // Float32 or Float16
	Normalized       bool     `json:"normalized"` // rows have unit L2 norm (always true)
	Embeddings       string   `json:"embeddings"` // file name in the index directory
	EmbeddingsSHA256 string   `json:"embeddings_sha256"`
	Metadata         string   `json:"metadata"`
	MetadataSHA256   string   `json:"metadata_sha256"`
	Roots            []string `json:"roots,omitempty"` // absolute folders and datasets indexed
	Skipped          int      `json:"skipped"`         // entries of skipped.jsonl
}

// Record is one row's metadata (one line of the metadata file).
type Record struct {
	ID     string `json:"id"`               // unique: the absolute file path, or source#key
	Path   string `json:"path,omitempty"`   // absolute path of an image file
	Source string `json:"source,omitempty"` // dataset shard holding the sample
	Key    string `json:"key,omitempty"`    // dataset sample key
	Label  int    `json:"label"`            // class index, -1 when unlabelled
	Class  string `json:"class,omitempty"`  // class name, when known
	Size   int64  `json:"size"`             // bytes of the encoded image
	MTime  string `json:"mtime,omitempty"`  // file modification time, RFC 3339 UTC
	SHA256 string `json:"sha256"`           // of the encoded image bytes
}

// Error is an index that cannot be read or written.
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string { return "index: " + e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Index is an opened index, safe for concurrent searches.
type Index struct {
	dir      string
	manifest Manifest
	records  []Record
	lin      *tensor.Linear // the count×dim normalised rows, packed for the GEMM; nil when empty
	wk       *tensor.Workers
}

// maxDim and maxCount bound what a manifest may announce before anything
// is allocated (2^31 values: 8 GiB of float32).
const (
	maxDim    = 1 << 16
	maxValues = 1 << 31
)

// Open reads the index in dir: the manifest, then the files it names.
func Open(dir string) (*Index, error) {
	m, recs, vecs, err := load(dir)
	if err != nil {
		return nil, err
	}
	ix := &Index{dir: dir, manifest: *m, records: recs}
	if err := ix.setRows(vecs); err != nil {
		return nil, &Error{dir, err}
	}
	return ix, nil
}

// load reads the manifest and the files it names.
func load(dir string) (*Manifest, []Record, []float32, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	recs, err := readRecords(filepath.Join(dir, m.Metadata), m.Count)
	if err != nil {
		return nil, nil, nil, err
	}
	p := filepath.Join(dir, m.Embeddings)
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, nil, &Error{dir, err}
	}
	defer f.Close()
	vecs, dtype, err := readNPY(f, m.Count, m.Dim)
	if err != nil {
		return nil, nil, nil, &Error{p, err}
	}
	if dtype != m.DType {
		return nil, nil, nil, &Error{p, fmt.Errorf("dtype %s, manifest says %s", dtype, m.DType)}
	}
	return m, recs, vecs, nil
}

func readManifest(dir string) (*Manifest, error) {
	p := filepath.Join(dir, manifestFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, &Error{dir, err}
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, &Error{p, err}
	}
	switch {
	case m.Format != FormatName || m.Version != FormatVersion:
		return nil, &Error{p, fmt.Errorf("format %q version %d, want %q version %d", m.Format, m.Version, FormatName, FormatVersion)}
	case m.Dim <= 0 || m.Dim > maxDim || m.Count < 0 || m.Count > maxValues/m.Dim:
		return nil, &Error{p, fmt.Errorf("dim %d count %d out of range", m.Dim, m.Count)}
	case m.DType != Float32 && m.DType != Float16:
		return nil, &Error{p, fmt.Errorf("dtype %q, want float32 or float16", m.DType)}
	case !safeName(m.Embeddings) || !safeName(m.Metadata):
		return nil, &Error{p, errors.New("data file names must be plain names inside the index")}
	}
	return &m, nil
}

// safeName reports whether a manifest's file name stays inside the index.
func safeName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\`)
}

func readRecords(path string, count int) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{path, err}
	}
	defer f.Close()
	recs := make([]Record, 0, min(count, 1<<20))
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if len(recs) == count {
			return nil, &Error{path, fmt.Errorf("more than the manifest's %d rows", count)}
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, &Error{path, fmt.Errorf("line %d: %w", len(recs)+1, err)}
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, &Error{path, err}
	}
	if len(recs) != count {
		return nil, &Error{path, fmt.Errorf("%d rows, manifest says %d", len(recs), count)}
	}
	return recs, nil
}

// Manifest returns the index's manifest.
func (ix *Index) Manifest() Manifest { return ix.manifest }

// Len is the number of rows.
func (ix *Index) Len() int { return len(ix.records) }

// Dim is the embedding dimension.
func (ix *Index) Dim() int { return ix.manifest.Dim }

// Record returns row i's metadata.
func (ix *Index) Record(i int) Record { return ix.records[i] }

// setRows packs the normalised rows for Search; vecs is not retained.
func (ix *Index) setRows(vecs []float32) error {
	if len(ix.records) == 0 {
		return nil
	}
	if ix.wk == nil {
		ix.wk = tensor.NewWorkers(0)
	}
	lin, err := tensor.NewLinear(ix.wk, vecs, nil, len(ix.records), ix.manifest.Dim)
	ix.lin = lin
	return err
}

// normalize scales v to unit L2 norm in place (a zero vector stays zero).
func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}
