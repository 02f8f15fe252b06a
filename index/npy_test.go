package index

import (
	"bytes"
	"testing"

	"github.com/goclip/goclip/internal/half"
)

func TestNPYRoundTrip(t *testing.T) {
	data := []float32{1, -2, 0.5, 3.25, 1e-3, -7}
	for _, dt := range []string{Float32, Float16} {
		var buf bytes.Buffer
		if err := writeNPY(&buf, data, 2, 3, dt); err != nil {
			t.Fatal(err)
		}
		hl := int(buf.Bytes()[8]) | int(buf.Bytes()[9])<<8
		if (10+hl)%64 != 0 {
			t.Errorf("%s: data starts at %d, not 64-byte aligned", dt, 10+hl)
		}
		got, gotDT, err := readNPY(bytes.NewReader(buf.Bytes()), 2, 3)
		if err != nil || gotDT != dt {
			t.Fatalf("%s: %v %s", dt, err, gotDT)
		}
		for i, v := range data {
			want := v
			if dt == Float16 {
				want = half.ToFloat32(half.FromFloat32(v))
			}
			if got[i] != want {
				t.Errorf("%s [%d] = %g, want %g", dt, i, got[i], want)
			}
		}
		if _, _, err := readNPY(bytes.NewReader(buf.Bytes()), 3, 3); err == nil {
			t.Errorf("%s: shape mismatch with the manifest accepted", dt)
		}
		if _, _, err := readNPY(bytes.NewReader(buf.Bytes()[:buf.Len()-1]), 2, 3); err == nil {
			t.Errorf("%s: truncated data accepted", dt)
		}
	}
}
