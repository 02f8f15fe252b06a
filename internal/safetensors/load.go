package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"unsafe"

	sft "github.com/nlpodyssey/safetensors"

	"github.com/goclip/goclip/internal/half"
	"github.com/goclip/goclip/internal/safefile"
)

// Errors wrapped by *TensorError, for errors.Is.
var (
	ErrMissingTensor = errors.New("missing tensor")
	ErrShape         = errors.New("wrong shape")
	ErrDType         = errors.New("unsupported dtype")
)

// FormatError reports a weights file that is not a valid safetensors file
// (truncated, garbage header, offsets out of range).
type FormatError struct {
	File string
	Err  error
}

func (e *FormatError) Error() string {
	return "clip: " + e.File + ": not a valid safetensors file: " + e.Err.Error()
}
func (e *FormatError) Unwrap() error { return e.Err }

// TensorError reports a problem with one named tensor; Err is one of
// ErrMissingTensor, ErrShape or ErrDType, possibly wrapped.
type TensorError struct {
	File   string
	Tensor string
	Err    error
}

func (e *TensorError) Error() string {
	return fmt.Sprintf("clip: %s: tensor %q: %v", e.File, e.Tensor, e.Err)
}
func (e *TensorError) Unwrap() error { return e.Err }

// Weights is a read-only view of a safetensors file: memory-mapped where
// the platform allows it, read into memory otherwise. It implements
// tensor.Store. F32 tensors are returned in place when aligned; F16 and
// BF16 are converted to float32 copies.
type Weights struct {
	file  string
	data  []byte
	unmap func() error
	st    sft.SafeTensors
}

// Open opens a safetensors file. Close releases it.
func Open(path string) (*Weights, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("clip: %w", err)
	}
	w, err := Parse(path, data)
	if err != nil {
		if unmap != nil {
			_ = unmap()
		}
		return nil, err
	}
	w.unmap = unmap
	return w, nil
}

// Parse parses safetensors bytes; name is used in errors. The
// Weights alias data.
func Parse(name string, data []byte) (*Weights, error) {
	st, err := sft.Deserialize(data)
	if err != nil {
		return nil, &FormatError{File: name, Err: err}
	}
	return &Weights{file: name, data: data, st: st}, nil
}

// Close releases the mapping. Slices returned by Tensor must not be used
// afterwards.
func (w *Weights) Close() error {
	if w == nil || w.unmap == nil {
		return nil
	}
	err := w.unmap()
	w.unmap = nil
	return err
}

// DropPages releases the resident pages of a memory-mapped file (no-op
// for files read into memory): loaders call it after making packed copies.
// Slices returned by Tensor stay valid; their pages fault back in on use.
func (w *Weights) DropPages() {
	if w.unmap != nil {
		dropPages(w.data)
	}
}

// Names lists the tensors in the file, sorted.
func (w *Weights) Names() []string {
	n := w.st.Names()
	sort.Strings(n)
	return n
}

// Shape returns a tensor's shape and dtype name, or ok=false if absent.
func (w *Weights) Shape(name string) (shape []int, dtype string, ok bool) {
	tv, ok := w.st.Tensor(name)
	if !ok {
		return nil, "", false
	}
	for _, d := range tv.Shape() {
		shape = append(shape, int(d))
	}
	return shape, tv.DType().String(), true
}

// Tensor returns the float32 values of name, checking its shape (an empty
// shape is a scalar, and also accepts a one-element tensor).
func (w *Weights) Tensor(name string, shape ...int) ([]float32, error) {
	tv, ok := w.st.Tensor(name)
	if !ok {
		return nil, &TensorError{File: w.file, Tensor: name, Err: ErrMissingTensor}
	}
	if !shapeMatches(tv.Shape(), shape) {
		return nil, &TensorError{File: w.file, Tensor: name,
			Err: fmt.Errorf("%w: file has %v, want %v", ErrShape, tv.Shape(), shape)}
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	b := tv.Data()
	switch tv.DType() {
	case sft.F32:
		if len(b) != 4*n {
			return nil, &TensorError{File: w.file, Tensor: name, Err: fmt.Errorf("%w: %d bytes for %d values", ErrShape, len(b), n)}
		}
		if n == 0 {
			return []float32{}, nil
		}
		if littleEndian && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
			return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n), nil
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, nil
	case sft.F16, sft.BF16:
		if len(b) != 2*n {
			return nil, &TensorError{File: w.file, Tensor: name, Err: fmt.Errorf("%w: %d bytes for %d values", ErrShape, len(b), n)}
		}
		out := make([]float32, n)
		bf := tv.DType() == sft.BF16
		for i := range out {
			h := binary.LittleEndian.Uint16(b[2*i:])
			if bf {
				out[i] = math.Float32frombits(uint32(h) << 16)
			} else {
				out[i] = half.ToFloat32(h)
			}
		}
		return out, nil
	}
	return nil, &TensorError{File: w.file, Tensor: name, Err: fmt.Errorf("%w %s (want F32, F16 or BF16)", ErrDType, tv.DType())}
}

func shapeMatches(got []uint64, want []int) bool {
	if len(want) == 0 { // scalar: [] or [1]
		return len(got) == 0 || (len(got) == 1 && got[0] == 1)
	}
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != uint64(want[i]) {
			return false
		}
	}
	return true
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// readFile is the portable fallback of mapFile: a regular file only
// (links resolved), read up to the size it had when opened.
func readFile(path string) ([]byte, func() error, error) {
	f, st, err := safefile.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil, nil
}

// Raw returns the stored bytes of a tensor, in its file dtype.
func (w *Weights) Raw(name string) ([]byte, bool) {
	tv, ok := w.st.Tensor(name)
	if !ok {
		return nil, false
	}
	return tv.Data(), true
}
