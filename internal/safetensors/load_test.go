package safetensors

import (
	"encoding/binary"
	"math"
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
	cases := map[uint16]float32{
		0x0000: 0, 0x3c00: 1, 0xc000: -2, 0x3555: 0.333251953125, 0x7bff: 65504,
		0x0001: 5.960464477539063e-08, 0x8400: -6.103515625e-05, 0x7c00: float32(math.Inf(1)),
	}
	for h, want := range cases {
		if got := halfToFloat(h); got != want {
			t.Errorf("halfToFloat(%#04x) = %g, want %g", h, got, want)
		}
	}
	if !math.IsNaN(float64(halfToFloat(0x7e00))) {
		t.Error("0x7e00 is not NaN")
	}
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
