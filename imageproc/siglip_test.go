package imageproc

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestSigLIPGoldens checks SiglipImageProcessor's pixel_values
// (tools/goldens/siglip.py: torchvision backend, defaults, 64x64) bit for
// bit, with the processor ParseConfig builds from a SigLIP
// preprocessor_config.json as transformers saves it (no crop fields: the
// SigLIP defaults must apply). The PIL backend's output (transformers 4
// behaviour) is reported only: it differs by up to one level.
func TestSigLIPGoldens(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"image_processor_type": "SiglipImageProcessor", "do_resize": true,
		"size": {"height": 64, "width": 64}, "resample": 3, "do_rescale": true, "rescale_factor": 0.00392156862745098,
		"do_normalize": true, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DoCenterCrop {
		t.Fatal("SigLIP config: do_center_crop defaulted to true")
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// siglip.py feeds the processor Image.open(f).convert("RGB"), which
	// drops alpha (astronaut_rgba.png): transformers 4's convention.
	p = p.WithDecodeOptions(&DecodeOptions{DropAlpha: true})
	st := loadSafetensors(t, filepath.Join("..", "testdata", "golden", "siglip-preprocess.safetensors"))
	n := 0
	for _, key := range st.Names() {
		name, ok := strings.CutPrefix(key, "64/")
		if !ok {
			continue
		}
		n++
		tv, _ := st.Tensor(key)
		b := tv.Data()
		want := make([]float32, len(b)/4)
		for i := range want {
			want[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		got, err := p.File(filepath.Join("..", "testdata", "images", name))
		if err != nil {
			t.Fatal(err)
		}
		diff := 0
		for i := range want {
			if got[i] != want[i] {
				diff++
			}
		}
		tp, _ := st.Tensor("pil/" + key)
		bp := tp.Data()
		var pil float64
		for i := range want {
			pil = math.Max(pil, math.Abs(float64(got[i])-float64(math.Float32frombits(binary.LittleEndian.Uint32(bp[4*i:])))))
		}
		t.Logf("%s: %d of %d values differ from SiglipImageProcessor; max |Δ| vs its PIL backend %.4g", name, diff, len(want), pil)
		if diff > 0 {
			t.Errorf("%s: %d of %d values differ from SiglipImageProcessor (want bit-exact)", name, diff, len(want))
		}
	}
	if n < 5 {
		t.Fatalf("found %d SigLIP preprocess goldens, want 5", n)
	}
}
