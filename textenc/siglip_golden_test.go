package textenc_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/goclip/goclip/internal/goldentest"
	"github.com/goclip/goclip/synth"
	"github.com/goclip/goclip/tensor"
	"github.com/goclip/goclip/textenc"
)

// Tolerances of the SigLIP text-tower goldens (tools/goldens/siglip.py),
// as in vit's TestSigLIPGoldens: refFactor × transformers' own float32
// error per output, the absolute bar, and hidden states relative
// to the layer's largest value (residual stream |x| ≈ 1…3; float32
// rounding over a few layers is ~1e-7 relative per step).
const (
	refFactor = 2
	embedTol  = 2e-5
	hiddenRel = 2e-6
)

// TestSigLIPGoldens covers SiglipModel's text tower and Siglip2Model's
// (tools/goldens/siglip2.py; the same tower, ids padded with Gemma's pad 0).
func TestSigLIPGoldens(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "golden", "siglip-tiny*.safetensors"))
	if len(files) < 2 {
		t.Fatalf("found %d SigLIP goldens, want 2", len(files))
	}
	files = append(files, filepath.Join("..", "testdata", "golden", "siglip2-tiny.safetensors"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { checkSigLIPText(t, f) })
	}
}

func checkSigLIPText(t *testing.T, path string) {
	g, err := goldentest.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := textenc.DefaultSigLIPConfig()
	st, err := g.Tower("text_config", &cfg, synth.Fill)
	if err != nil {
		t.Fatal(err)
	}
	m, err := textenc.New(cfg, st, "text_model.", tensor.NewWorkers(0))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := g.IDs("input_ids")
	if err != nil {
		t.Fatal(err)
	}
	n, l, w := len(ids), len(ids[0]), cfg.HiddenSize
	hiddenWant, hshape, err := g.Float("f64_text_hidden")
	if err != nil {
		t.Fatal(err)
	}
	layerMax := make([]float64, hshape[0])
	for i, v := range hiddenWant {
		layerMax[i/(n*l*w)] = max(layerMax[i/(n*l*w)], abs(v))
	}
	hiddenErr := make([]float64, hshape[0])
	opts := &textenc.ForwardOptions{Hidden: func(index, seq int, h []float32) {
		if len(h) != l*w {
			t.Fatalf("hidden state %d of sequence %d: %d values, want %d", index, seq, len(h), l*w)
		}
		want := hiddenWant[(index*n+seq)*l*w:]
		hiddenErr[index] = max(hiddenErr[index], goldentest.MaxAbsDiff(h, want[:l*w]))
	}}
	for _, o := range []*textenc.ForwardOptions{nil, opts} {
		got, err := m.Forward(context.Background(), ids, o)
		if err != nil {
			t.Fatal(err)
		}
		checkOutput(t, g, "text_embeds", got)
	}
	for i, e := range hiddenErr {
		t.Logf("hidden state %d: max error %.3g (%.2g of the layer's max %.3g)", i, e, e/layerMax[i], layerMax[i])
		if e > hiddenRel*layerMax[i] {
			t.Errorf("hidden state %d (0 = embeddings, l = after encoder layer l): max error %.3g > %.3g", i, e, hiddenRel*layerMax[i])
		}
	}
}

func checkOutput(t *testing.T, g *goldentest.File, key string, got []float32) {
	t.Helper()
	want, _, err := g.Float("f64_" + key)
	if err != nil {
		t.Fatal(err)
	}
	ref, _, err := g.Float("f32_" + key)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", key, len(got), len(want))
	}
	gap := goldentest.Gap(ref, want)
	e := goldentest.MaxAbsDiff(got, want)
	t.Logf("%s: max error vs float64 %.3g; transformers float32 %.3g (ratio %.2f)", key, e, gap, e/gap)
	if e > embedTol || e > refFactor*gap {
		t.Errorf("%s: max error vs float64 %.3g, want ≤ %g and ≤ %d× transformers' float32 error %.3g", key, e, embedTol, refFactor, gap)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
