package clip

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/goclip/goclip/internal/safetensors"
)

// toHalf rounds f to the nearest IEEE binary16 (ties to even) and returns
// its bits and its exact value, computed without halfToFloat.
func toHalf(f float32) (uint16, float32) {
	sign := uint16(math.Float32bits(f)>>16) & 0x8000
	a := math.Abs(float64(f))
	if a == 0 {
		return sign, f
	}
	e := math.Max(math.Floor(math.Log2(a)), -14) // -14: subnormal exponent
	q := math.RoundToEven(a / math.Exp2(e-10))   // 11-bit significand
	if q >= 2048 {
		e, q = e+1, q/2
	}
	v := float32(q * math.Exp2(e-10))
	if sign != 0 {
		v = -v
	}
	if q < 1024 {
		return sign | uint16(q), v
	}
	return sign | uint16(e+15)<<10 | uint16(q-1024), v
}

// toBF16 rounds f to bfloat16 (ties to even): bits and value.
func toBF16(f float32) (uint16, float32) {
	b := math.Float32bits(f)
	r := b + 0x7fff + (b>>16)&1
	h := uint16(r >> 16)
	return h, math.Float32frombits(uint32(h) << 16)
}

// rewrite writes the float tensors of src to dst in the given dtype (F16 or
// BF16 bits, or F32 holding the same rounded values), other tensors as they are.
func rewrite(t *testing.T, src, dst, dtype string, round func(float32) (uint16, float32)) {
	t.Helper()
	w, err := safetensors.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	names := w.Names()
	sort.Strings(names)
	header := map[string]any{}
	var data []byte
	for _, name := range names {
		shape, dt, _ := w.Shape(name)
		if shape == nil {
			shape = []int{}
		}
		start := len(data)
		if dt != "F32" {
			raw, _ := w.Raw(name)
			data = append(data, raw...)
		} else {
			v, err := w.Tensor(name, shape...)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range v {
				h, r := round(x)
				if dtype == "F32" {
					data = binary.LittleEndian.AppendUint32(data, math.Float32bits(r))
				} else {
					data = binary.LittleEndian.AppendUint16(data, h)
				}
			}
			dt = dtype
		}
		header[name] = map[string]any{"dtype": dt, "shape": shape, "data_offsets": []int{start, len(data)}}
	}
	h, _ := json.Marshal(header)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHalfPrecisionModels loads F16 and BF16 checkpoints: they must give
// exactly the embeddings of an F32 checkpoint holding the same rounded
// values (the conversion is exact). A misaligned F32 tensor, which must be
// copied rather than used in place, is checked last.
func TestHalfPrecisionModels(t *testing.T) {
	base := tinyDir(t)
	ctx := context.Background()
	for _, c := range []struct {
		dtype string
		round func(float32) (uint16, float32)
	}{{"F16", toHalf}, {"BF16", toBF16}} {
		t.Run(c.dtype, func(t *testing.T) {
			half, full := t.TempDir(), t.TempDir()
			for _, d := range []string{half, full} {
				for _, f := range []string{"config.json", "preprocessor_config.json"} {
					b, _ := os.ReadFile(filepath.Join(base, f))
					os.WriteFile(filepath.Join(d, f), b, 0o644)
				}
			}
			src := filepath.Join(base, "model.safetensors")
			rewrite(t, src, filepath.Join(half, "model.safetensors"), c.dtype, c.round)
			rewrite(t, src, filepath.Join(full, "model.safetensors"), "F32", c.round)
			mh, mf := loadOrFatal(t, half), loadOrFatal(t, full)
			s := mh.ImageSize()
			px := make([]float32, 2*3*s*s)
			for i := range px {
				px[i] = float32(i%97)/50 - 1
			}
			ids := [][]int32{{49406, 320, 1125, 539, 320, 2368, 49407}}
			embed := func(m *Model) (img, txt [][]float32) {
				img, err := m.EmbedPixels(ctx, px)
				if err != nil {
					t.Fatal(err)
				}
				if txt, err = m.EmbedTokens(ctx, ids); err != nil {
					t.Fatal(err)
				}
				return img, txt
			}
			hi, ht := embed(mh)
			fi, ft := embed(mf)
			if !equalRows(hi, fi) || !equalRows(ht, ft) {
				t.Errorf("%s checkpoint differs from its F32 equivalent", c.dtype)
			}
		})
	}
	// A misaligned F32 tensor (after a 2-byte one) reads correctly.
	w, err := safetensors.Parse("m.safetensors", append(stFile(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}`, 2), 0, 0, 0x80, 0x3f))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := w.Tensor("b", 1); err != nil || v[0] != 1 {
		t.Errorf("misaligned F32: %v %v", v, err)
	}
}
