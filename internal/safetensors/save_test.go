package safetensors

import "testing"

// TestEncodeTensorsShapes: the value count must match the shape, including
// shapes whose product overflows int (which used to wrap around to the
// length of the data) and shapes with a zero dimension.
func TestEncodeTensorsShapes(t *testing.T) {
	bad := []NamedTensor{
		{Name: "short", Shape: []int{2, 3}, Data: make([]float32, 5)},
		{Name: "negative", Shape: []int{-1, 2}, Data: make([]float32, 2)},
		{Name: "wraps", Shape: []int{1 << 32, 1 << 32}, Data: nil}, // 2^64 ≡ 0
		{Name: "wraps2", Shape: []int{1 << 40, 1 << 24, 2}, Data: make([]float32, 0)},
	}
	for _, ts := range bad {
		if _, err := Encode([]NamedTensor{ts}, nil); err == nil {
			t.Errorf("%s %v with %d values accepted", ts.Name, ts.Shape, len(ts.Data))
		}
	}
	good := []NamedTensor{
		{Name: "empty", Shape: []int{5, 0}, Data: nil},
		{Name: "m", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
	}
	b, err := Encode(good, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := Parse("t", b)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := w.Tensor("m", 2, 3); err != nil || v[5] != 6 {
		t.Errorf("m: %v %v", v, err)
	}
	if v, err := w.Tensor("empty", 5, 0); err != nil || len(v) != 0 {
		t.Errorf("empty: %v %v", v, err)
	}
}
