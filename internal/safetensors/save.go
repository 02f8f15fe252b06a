package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	sft "github.com/nlpodyssey/safetensors"
)

// NamedTensor is a float32 tensor to write with Encode or Save.
type NamedTensor struct {
	Name  string
	Shape []int
	Data  []float32 // row-major, len = product of Shape
}

// Metadata returns the __metadata__ strings of the file (nil if none).
func (w *Weights) Metadata() map[string]string {
	_, md, err := sft.ReadMetadata(w.data) // already validated by Parse
	if err != nil {
		return nil
	}
	return md.Metadata()
}

// Encode serialises F32 tensors and optional metadata in the
// safetensors format (readable by Python's safetensors.safe_open and by
// Open).
func Encode(ts []NamedTensor, metadata map[string]string) ([]byte, error) {
	views := make(map[string]sft.TensorView, len(ts))
	for _, t := range ts {
		n := 1
		shape := make([]uint64, len(t.Shape))
		for i, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("clip: tensor %q: negative dimension in %v", t.Name, t.Shape)
			}
			shape[i] = uint64(d)
		}
		if slices.Contains(t.Shape, 0) {
			n = 0
		} else {
			for _, d := range t.Shape {
				if n > len(t.Data)/d { // more values than given: stop before n·d overflows
					n = -1
					break
				}
				n *= d
			}
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("clip: tensor %q: %d values for shape %v", t.Name, len(t.Data), t.Shape)
		}
		if _, dup := views[t.Name]; dup {
			return nil, fmt.Errorf("clip: tensor %q given twice", t.Name)
		}
		buf := make([]byte, 4*n)
		for i, v := range t.Data {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		tv, err := sft.NewTensorView(sft.F32, shape, buf)
		if err != nil {
			return nil, fmt.Errorf("clip: tensor %q: %w", t.Name, err)
		}
		views[t.Name] = tv
	}
	return sft.Serialize(views, metadata)
}

// Save writes Encode' output to path through a temporary file
// in the same folder, so a failed or interrupted write never leaves a
// half-written file behind.
func Save(path string, ts []NamedTensor, metadata map[string]string) error {
	data, err := Encode(ts, metadata)
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+strings.TrimPrefix(base, ".")+".tmp*")
	if err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("clip: %s: %w", path, werr)
	}
	return nil
}

// Rows joins equal-length rows into one row-major slice, as a tensor's Data.
func Rows(rows [][]float32) []float32 {
	if len(rows) == 0 {
		return nil
	}
	out := make([]float32, 0, len(rows)*len(rows[0]))
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}
