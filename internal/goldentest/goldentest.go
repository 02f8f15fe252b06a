// Package goldentest reads the golden files of testdata/golden (safetensors
// written by tools/goldens/*.py) for tests: float tensors as float64, id
// tensors as rows, the metadata, and a tensor.Store that regenerates the
// model's weights with the synthetic-weight recipe.
package goldentest

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"github.com/nlpodyssey/safetensors"
)

// File is one golden file.
type File struct {
	st   safetensors.SafeTensors
	Meta map[string]string
}

// Read parses path.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	_, md, err := safetensors.ReadMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{st: st, Meta: md.Metadata()}, nil
}

// Has reports whether the file holds name.
func (f *File) Has(name string) bool { _, ok := f.st.Tensor(name); return ok }

// Float returns an F32 or F64 tensor as float64 values and its shape.
func (f *File) Float(name string) ([]float64, []int, error) {
	tv, ok := f.st.Tensor(name)
	if !ok {
		return nil, nil, fmt.Errorf("golden has no %q", name)
	}
	var shape []int
	for _, d := range tv.Shape() {
		shape = append(shape, int(d))
	}
	b := tv.Data()
	var out []float64
	switch tv.DType() {
	case safetensors.F32:
		out = make([]float64, len(b)/4)
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case safetensors.F64:
		out = make([]float64, len(b)/8)
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
	default:
		return nil, nil, fmt.Errorf("golden %q: dtype %v is not a float", name, tv.DType())
	}
	return out, shape, nil
}

// Float32 returns a float tensor rounded to float32.
func (f *File) Float32(name string) ([]float32, []int, error) {
	v, shape, err := f.Float(name)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out, shape, err
}

// IDs returns an I64 [n, L] tensor as rows.
func (f *File) IDs(name string) ([][]int32, error) {
	tv, ok := f.st.Tensor(name)
	if !ok || tv.DType() != safetensors.I64 || len(tv.Shape()) != 2 {
		return nil, fmt.Errorf("golden %q missing or not I64 [n,L]", name)
	}
	n, l := int(tv.Shape()[0]), int(tv.Shape()[1])
	b := tv.Data()
	rows := make([][]int32, n)
	for i := range rows {
		rows[i] = make([]int32, l)
		for j := range rows[i] {
			rows[i][j] = int32(binary.LittleEndian.Uint64(b[8*(i*l+j):]))
		}
	}
	return rows, nil
}

// Gap is the largest |a-b| over two equally long slices: used for a
// reference's own float32-vs-float64 distance.
func Gap(a, b []float64) float64 {
	var g float64
	for i := range a {
		g = math.Max(g, math.Abs(a[i]-b[i]))
	}
	return g
}

// MaxAbsDiff is the largest |got-want|.
func MaxAbsDiff(got []float32, want []float64) float64 {
	var g float64
	for i := range want {
		g = math.Max(g, math.Abs(float64(got[i])-want[i]))
	}
	return g
}

// Bytes returns a U8 tensor's values and its shape.
func (f *File) Bytes(name string) ([]byte, []int, error) {
	tv, ok := f.st.Tensor(name)
	if !ok || tv.DType() != safetensors.U8 {
		return nil, nil, fmt.Errorf("golden %q missing or not U8", name)
	}
	var shape []int
	for _, d := range tv.Shape() {
		shape = append(shape, int(d))
	}
	return tv.Data(), shape, nil
}

// Names lists the file's tensors.
func (f *File) Names() []string { return f.st.Names() }

// Ints returns an I64 tensor of any shape, flattened.
func (f *File) Ints(name string) ([]int, error) {
	tv, ok := f.st.Tensor(name)
	if !ok || tv.DType() != safetensors.I64 {
		return nil, fmt.Errorf("golden %q missing or not I64", name)
	}
	b := tv.Data()
	out := make([]int, len(b)/8)
	for i := range out {
		out[i] = int(int64(binary.LittleEndian.Uint64(b[8*i:])))
	}
	return out, nil
}
