package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"unsafe"

	"github.com/goclip/goclip/internal/atomicfile"
)

// NamedTensor is a float32 tensor to write with Encode or Save.
type NamedTensor struct {
	Name  string
	Shape []int
	Data  []float32 // row-major, len = product of Shape
}

// Entry is one tensor of a file written by Write: its bytes come from
// WriteData, called once, in the order of the entries, after the header.
// It must write exactly the size its dtype and shape say.
type Entry struct {
	Name      string
	DType     string // "F32" or "I64"
	Shape     []int
	WriteData func(w io.Writer) error
}

// size is the entry's byte length, or -1 for a negative dimension or one
// over 2^40 bytes.
func (e *Entry) size() int64 {
	n := int64(4)
	if e.DType == "I64" {
		n = 8
	}
	for _, d := range e.Shape {
		if d < 0 || (d > 0 && n > (1<<40)/int64(d)) {
			return -1
		}
		n *= int64(d)
	}
	return n
}

// Write writes a safetensors file: the JSON header (tensors in the given
// order, metadata under "__metadata__", padded with spaces to 8 bytes)
// and then every entry's data.
func Write(w io.Writer, entries []Entry, metadata map[string]string) error {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for i := range entries {
		e := &entries[i]
		size := e.size()
		if size < 0 || (e.DType != "F32" && e.DType != "I64") {
			return fmt.Errorf("clip: tensor %q: bad dtype %q or shape %v", e.Name, e.DType, e.Shape)
		}
		if _, dup := header[e.Name]; dup || e.Name == "__metadata__" {
			return fmt.Errorf("clip: tensor %q given twice", e.Name)
		}
		shape := e.Shape
		if shape == nil {
			shape = []int{}
		}
		header[e.Name] = map[string]any{"dtype": e.DType, "shape": shape, "data_offsets": [2]int64{off, off + size}}
		off += size
	}
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	if err := binary.Write(w, binary.LittleEndian, uint64(len(h))); err != nil {
		return err
	}
	if _, err := w.Write(h); err != nil {
		return err
	}
	for i := range entries {
		cw := &countWriter{w: w}
		if err := entries[i].WriteData(cw); err != nil {
			return err
		}
		if want := entries[i].size(); cw.n != want {
			return fmt.Errorf("clip: tensor %q: wrote %d bytes, want %d", entries[i].Name, cw.n, want)
		}
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// F32 returns an entry writing data as F32.
func F32(name string, shape []int, data []float32) Entry {
	return Entry{Name: name, DType: "F32", Shape: shape, WriteData: func(w io.Writer) error {
		_, err := w.Write(Float32Bytes(data))
		return err
	}}
}

// Float32Bytes returns the little-endian bytes of v (a view on
// little-endian hosts, a copy otherwise).
func Float32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	if littleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
	}
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// Encode serialises F32 tensors and optional metadata in the safetensors
// format (readable by Python's safetensors.safe_open and by Open).
func Encode(ts []NamedTensor, metadata map[string]string) ([]byte, error) {
	entries, err := f32Entries(ts)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := Write(&buf, entries, metadata); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// f32Entries checks that every tensor's values fill its shape.
func f32Entries(ts []NamedTensor) ([]Entry, error) {
	entries := make([]Entry, len(ts))
	for i, t := range ts {
		n := 1
		if slices.Contains(t.Shape, 0) {
			n = 0
		}
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("clip: tensor %q: negative dimension in %v", t.Name, t.Shape)
			}
			if n > 0 && n > len(t.Data)/d { // more values than given: stop before n·d overflows
				n = -1
				break
			}
			if n > 0 {
				n *= d
			}
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("clip: tensor %q: %d values for shape %v", t.Name, len(t.Data), t.Shape)
		}
		entries[i] = F32(t.Name, t.Shape, t.Data)
	}
	return entries, nil
}

// Save writes tensors to path atomically (see SaveEntries).
func Save(path string, ts []NamedTensor, metadata map[string]string) error {
	entries, err := f32Entries(ts)
	if err != nil {
		return err
	}
	return SaveEntries(path, entries, metadata)
}

// SaveEntries writes a safetensors file to path through a temporary file
// in the same folder, renamed into place when complete, so a failed or
// interrupted write never leaves a half-written file behind. The file is
// readable by everyone (0644), as os.Create would make it.
func SaveEntries(path string, entries []Entry, metadata map[string]string) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return Write(w, entries, metadata) }); err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	return nil
}
