package index

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/goclip/goclip/internal/atomicfile"
)

// The checkpoints of a build in progress: dir/.partial/state.json names the
// model, and every batch adds chunk-NNNNNN.jsonl, lines of
// {"sha256": hex, "embedding": base64 little-endian float32, normalised},
// each file written to a temporary name and renamed. A chunk that does not
// parse (a crash mid-write on a file system without ordered renames) is
// ignored, so it is only re-embedded.

const partialDir = ".partial"

type partialState struct {
	Model    string `json:"model"`
	Revision string `json:"revision,omitempty"`
	Dim      int    `json:"dim"`
}

type chunkLine struct {
	SHA256 string
	Vec    []float32
}

type chunkJSON struct {
	SHA256    string `json:"sha256"`
	Embedding string `json:"embedding"`
}

// openPartial loads the checkpoints of an interrupted build made with the
// same model, or starts a fresh checkpoint directory.
func (b *builder) openPartial() error {
	pd := filepath.Join(b.dir, partialDir)
	want := partialState{b.o.Model, b.o.Revision, b.dim}
	b.partial = map[string]bool{}
	if data, err := os.ReadFile(filepath.Join(pd, "state.json")); err == nil {
		var st partialState
		if json.Unmarshal(data, &st) == nil && st == want {
			return b.loadChunks(pd)
		}
	}
	if err := os.RemoveAll(pd); err != nil {
		return &Error{pd, err}
	}
	if err := os.MkdirAll(pd, 0o755); err != nil {
		return &Error{pd, err}
	}
	data, _ := json.Marshal(want)
	return writeFileAtomic(filepath.Join(pd, "state.json"), data)
}

func (b *builder) loadChunks(pd string) error {
	names, err := filepath.Glob(filepath.Join(pd, "chunk-*.jsonl"))
	if err != nil {
		return &Error{pd, err}
	}
	for _, name := range names {
		var n int
		if _, err := fmt.Sscanf(filepath.Base(name), "chunk-%d.jsonl", &n); err == nil && n >= b.chunk {
			b.chunk = n + 1
		}
		lines, err := b.readChunk(name)
		if err != nil {
			continue // torn checkpoint: its images are embedded again
		}
		for _, l := range lines {
			b.known[l.SHA256] = l.Vec
			b.partial[l.SHA256] = true
		}
	}
	return nil
}

func (b *builder) readChunk(path string) ([]chunkLine, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []chunkLine
	for line := range bytes.Lines(data) {
		var c chunkJSON
		if err := json.Unmarshal(line, &c); err != nil {
			return nil, err
		}
		raw, err := base64.StdEncoding.DecodeString(c.Embedding)
		if err != nil || len(raw) != 4*b.dim || len(c.SHA256) != 64 {
			return nil, errors.New("bad checkpoint line")
		}
		v := make([]float32, b.dim)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		out = append(out, chunkLine{c.SHA256, v})
	}
	return out, nil
}

func (b *builder) partialHas(h string) bool { return b.partial[h] }

// checkpoint writes the batch's new embeddings as the next chunk file.
func (b *builder) checkpoint(lines []chunkLine) error {
	if len(lines) == 0 {
		return nil
	}
	var buf bytes.Buffer
	raw := make([]byte, 4*b.dim)
	for _, l := range lines {
		for i, x := range l.Vec {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
		}
		j, _ := json.Marshal(chunkJSON{l.SHA256, base64.StdEncoding.EncodeToString(raw)})
		buf.Write(j)
		buf.WriteByte('\n')
	}
	name := filepath.Join(b.dir, partialDir, fmt.Sprintf("chunk-%06d.jsonl", b.chunk))
	b.chunk++
	return writeFileAtomic(name, buf.Bytes())
}

// commit writes the data files, then the manifest, then removes what the
// new manifest no longer names and the checkpoints.
func (b *builder) commit() error {
	rows := b.final()
	vecs := make([]float32, 0, len(rows)*b.dim)
	for _, r := range rows {
		vecs = append(vecs, r.vec...)
	}
	m := Manifest{Format: FormatName, Version: FormatVersion, Model: b.o.Model, Revision: b.o.Revision,
		Dim: b.dim, Count: len(rows), DType: b.o.DType, Normalized: true, Roots: b.o.Roots, Skipped: len(b.skipped)}
	var err error
	m.Embeddings, m.EmbeddingsSHA256, err = b.writeHashed("embeddings", ".npy", func(w io.Writer) error {
		return writeNPY(w, vecs, len(rows), b.dim, b.o.DType)
	})
	if err != nil {
		return err
	}
	m.Metadata, m.MetadataSHA256, err = b.writeHashed("metadata", ".jsonl", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, r := range rows {
			if err := enc.Encode(r.rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var sk bytes.Buffer
	enc := json.NewEncoder(&sk)
	enc.SetEscapeHTML(false)
	for _, s := range b.skipped {
		enc.Encode(s)
	}
	if err := writeFileAtomic(filepath.Join(b.dir, "skipped.jsonl"), sk.Bytes()); err != nil {
		return err
	}
	mj, _ := json.MarshalIndent(m, "", "  ")
	if err := writeFileAtomic(filepath.Join(b.dir, manifestFile), append(mj, '\n')); err != nil {
		return err
	}
	syncDir(b.dir)
	b.cleanup(m)
	return nil
}

// writeHashed writes a content-addressed data file prefix-<sha256[:16]>ext.
func (b *builder) writeHashed(prefix, ext string, write func(io.Writer) error) (string, string, error) {
	f, err := atomicfile.Create(filepath.Join(b.dir, prefix))
	if err != nil {
		return "", "", &Error{b.dir, err}
	}
	defer f.Abort()
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if err := write(bw); err != nil {
		return "", "", &Error{f.Name(), err}
	}
	if err := bw.Flush(); err != nil {
		return "", "", &Error{f.Name(), err}
	}
	sum := hexSum(h)
	name := prefix + "-" + sum[:16] + ext
	if err := f.CommitAs(filepath.Join(b.dir, name)); err != nil {
		return "", "", &Error{b.dir, err}
	}
	return name, sum, nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// cleanup removes data files of earlier generations, leftovers of
// interrupted commits and the checkpoints. Failures only leave garbage.
func (b *builder) cleanup(m Manifest) {
	entries, _ := os.ReadDir(b.dir)
	for _, e := range entries {
		n := e.Name()
		stale := (strings.HasPrefix(n, "embeddings-") || strings.HasPrefix(n, "metadata-")) && n != m.Embeddings && n != m.Metadata
		if stale || strings.HasPrefix(n, ".tmp-") || atomicfile.IsTemp(n) {
			os.Remove(filepath.Join(b.dir, n))
		}
	}
	os.RemoveAll(filepath.Join(b.dir, partialDir))
}

// writeFileAtomic writes data to a temporary file in path's directory,
// syncs it and renames it over path.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data); err != nil {
		return &Error{path, err}
	}
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
