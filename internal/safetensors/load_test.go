package safetensors

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// stFile is a safetensors file with the given JSON header and n zero bytes
// of data.
func stFile(header string, n int) []byte {
	for len(header)%8 != 0 {
		header += " "
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, n)...)
}

func TestHalfPrecision(t *testing.T) {
	// BF16 and F16 files load through the same Tensor call.
	bf := stFile(`{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}}`, 0)
	bf = append(bf, 0x80, 0x3f, 0x00, 0xc0, 0x00, 0x3c, 0x00, 0xc0) // bf16 1, -2; f16 1, -2
	w, err := Parse("h.safetensors", bf)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		v, err := w.Tensor(name, 2)
		if err != nil || v[0] != 1 || v[1] != -2 {
			t.Errorf("%s: %v %v", name, v, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(stFile(`{"logit_scale":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`, 4))
	f.Add(stFile(`{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"k":"v"}}`, 4))
	f.Add(stFile(`{"a":{"dtype":"F16","shape":[1,2],"data_offsets":[0,4]},"b":{"dtype":"I64","shape":[1],"data_offsets":[4,12]}}`, 12))
	if b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "tiny-quick-legacy.safetensors")); err == nil {
		f.Add(b[:min(len(b), 4096)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := Parse("fuzz.safetensors", data)
		if err != nil {
			return
		}
		for _, name := range w.Names() {
			shape, _, _ := w.Shape(name)
			w.Tensor(name, shape...)
			w.Tensor(name, 1, 2, 3)
		}
	})
}
