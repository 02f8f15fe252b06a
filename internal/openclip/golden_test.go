package openclip_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/goclip/goclip/internal/goldentest"
	"github.com/goclip/goclip/internal/openclip"
	"github.com/goclip/goclip/synth"
	"github.com/goclip/goclip/tensor"
	"github.com/goclip/goclip/textenc"
	"github.com/goclip/goclip/vit"
)

// Tolerances of the OpenCLIP goldens (tools/goldens/openclip.py), as for
// SigLIP in vit and textenc: refFactor × open_clip's own float32 error per
// output, the absolute bar, and hidden states relative to the
// largest value of the layer (float32 rounding is ~1e-7 relative per
// step; the patch convolution of 3·P² products adds a few 1e-7).
const (
	refFactor = 2
	embedTol  = 2e-5
	hiddenRel = 2e-6
)

func TestGoldens(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "golden", "openclip-*.safetensors"))
	if len(files) < 3 {
		t.Fatalf("found %d OpenCLIP goldens, want 3", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { checkGolden(t, f) })
	}
}

func checkGolden(t *testing.T, path string) {
	g, err := goldentest.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := openclip.ParseConfig([]byte(g.Meta["open_clip_config"]))
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := strconv.ParseUint(g.Meta["seed"], 10, 64)
	st := &openclip.Store{Base: &goldentest.RecipeStore{Seed: seed, Fill: synth.Fill}, TextPrefix: cfg.TextPrefix}
	vm, err := vit.New(cfg.Vision, st, "vision_model.", tensor.NewWorkers(0))
	if err != nil {
		t.Fatal(err)
	}
	tm, err := textenc.New(cfg.Text, st, "text_model.", tensor.NewWorkers(0))
	if err != nil {
		t.Fatal(err)
	}
	px, shape, err := g.Float32("pixel_values")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := g.IDs("input_ids")
	if err != nil {
		t.Fatal(err)
	}
	vw, tw, e := cfg.Vision.HiddenSize, cfg.Text.HiddenSize, cfg.EmbedDim
	n, vt := shape[0], cfg.Vision.Tokens()
	vh := hiddenChecker(t, g, "f64_vision_hidden", n, vt, vw)
	pooled, err := vm.Forward(context.Background(), px, n, &vit.ForwardOptions{Hidden: func(l, i int, h []float32) { vh.add(l, i, h) }})
	if err != nil {
		t.Fatal(err)
	}
	vh.check()
	checkOutput(t, g, "image_embeds", project(t, st, "visual_projection.weight", pooled, e, vw))
	th := hiddenChecker(t, g, "f64_text_hidden", len(ids), len(ids[0]), tw)
	pooled, err = tm.Forward(context.Background(), ids, &textenc.ForwardOptions{Hidden: func(l, s int, h []float32) { th.add(l, s, h) }})
	if err != nil {
		t.Fatal(err)
	}
	th.check()
	checkOutput(t, g, "text_embeds", project(t, st, "text_projection.weight", pooled, e, tw))
}

// project returns x [n, in] times the stored weight [out, in] transposed,
// summed in float64 (the towers are under test here, not the projection).
func project(t *testing.T, st *openclip.Store, name string, x []float32, out, in int) []float32 {
	w, err := st.Tensor(name, out, in)
	if err != nil {
		t.Fatal(err)
	}
	n := len(x) / in
	y := make([]float32, n*out)
	for i := 0; i < n; i++ {
		for o := 0; o < out; o++ {
			var s float64
			for k := 0; k < in; k++ {
				s += float64(x[i*in+k]) * float64(w[o*in+k])
			}
			y[i*out+o] = float32(s)
		}
	}
	return y
}

type hidden struct {
	t          *testing.T
	key        string
	want       []float64
	n, tok, w  int
	err, layer []float64
}

func hiddenChecker(t *testing.T, g *goldentest.File, key string, n, tok, w int) *hidden {
	want, shape, err := g.Float(key)
	if err != nil {
		t.Fatal(err)
	}
	h := &hidden{t: t, key: key, want: want, n: n, tok: tok, w: w, err: make([]float64, shape[0]), layer: make([]float64, shape[0])}
	for i, v := range want {
		h.layer[i/(n*tok*w)] = math.Max(h.layer[i/(n*tok*w)], math.Abs(v))
	}
	return h
}

// add compares the rows given (a causal text tower computes a prefix).
func (h *hidden) add(l, i int, got []float32) {
	if len(got) > h.tok*h.w {
		h.t.Fatalf("%s: %d values for item %d", h.key, len(got), i)
	}
	want := h.want[(l*h.n+i)*h.tok*h.w:]
	h.err[l] = math.Max(h.err[l], goldentest.MaxAbsDiff(got, want[:len(got)]))
}

func (h *hidden) check() {
	for l, e := range h.err {
		h.t.Logf("%s %d: max error %.3g (%.2g of the layer's max %.3g)", h.key, l, e, e/h.layer[l], h.layer[l])
		if e > hiddenRel*h.layer[l] {
			h.t.Errorf("%s %d (0 = input of block 0, l = output of block l-1): max error %.3g > %.3g", h.key, l, e, hiddenRel*h.layer[l])
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
	t.Logf("%s: max error vs float64 %.3g; open_clip float32 %.3g (ratio %.2f)", key, e, gap, e/gap)
	if e > embedTol || e > refFactor*gap {
		t.Errorf("%s: max error vs float64 %.3g, want ≤ %g and ≤ %d× open_clip's float32 error %.3g", key, e, embedTol, refFactor, gap)
	}
}

// TestRefused: configs the towers do not implement fail naming the field.
func TestRefused(t *testing.T) {
	cases := map[string]string{
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {"attentional_pool": true}, "text_cfg": {}}}`:                         "model_cfg.vision_cfg.attentional_pool",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {"timm_model_name": "vit_b"}, "text_cfg": {}}}`:                       "model_cfg.vision_cfg.timm_model_name",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {"layers": [3, 4, 6, 3]}, "text_cfg": {}}}`:                           "model_cfg.vision_cfg.layers",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {"pool_type": "avg"}, "text_cfg": {}}}`:                               "model_cfg.vision_cfg.pool_type",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {"ls_init_value": 0.1}, "text_cfg": {}}}`:                             "model_cfg.vision_cfg.ls_init_value",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {"norm_kwargs": {"elementwise_affine": false}}, "text_cfg": {}}}`:     "model_cfg.vision_cfg.norm_kwargs",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {"hf_model_name": "xlm-roberta-base"}}}`:              "model_cfg.text_cfg.hf_model_name",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {"no_causal_mask": true}}}`:                           "model_cfg.text_cfg.no_causal_mask",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {"pool_type": "first"}}}`:                             "model_cfg.text_cfg.pool_type",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {"proj_bias": true}}}`:                                "model_cfg.text_cfg.proj_bias",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {"embed_cls": true}}}`:                                "model_cfg.text_cfg.embed_cls",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {}, "coca": 1}}`:                                      "model_cfg.coca",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {"head_width": 7}, "text_cfg": {}}}`:                                  "model_cfg.vision_cfg.head_width",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {}}, "preprocess_cfg": {"resize_mode": "crop"}}`:      "preprocess_cfg.resize_mode",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {}}, "preprocess_cfg": {"interpolation": "lanczos"}}`: "preprocess_cfg.interpolation",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {}}, "preprocess_cfg": {"fill_color": 300}}`:          "preprocess_cfg.fill_color",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {}}, "preprocess_cfg": {"fill_color": [1, 2, 3]}}`:    "preprocess_cfg.fill_color",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {}}, "preprocess_cfg": {"std": [0.5, 0]}}`:            "preprocess_cfg.mean",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {}}, "preprocess_cfg": {"std": [0.5, 0, 1]}}`:         "preprocess_cfg.std",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {}}, "preprocess_cfg": {"size": 256}}`:                "preprocess_cfg.size",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {}}, "preprocess_cfg": {"size": [224, 200]}}`:         "preprocess_cfg.size",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {}}, "preprocess_cfg": {"mode": "L"}}`:                "preprocess_cfg.mode",
		`{"model_cfg": {"embed_dim": 8, "vision_cfg": {}, "text_cfg": {}}, "preprocess_cfg": {"crop_pct": 0.9}}`:            "preprocess_cfg.crop_pct",
		`{"preprocess_cfg": {}}`: "model_cfg",
		`[1]`:                    "json",
	}
	for js, field := range cases {
		_, err := openclip.ParseConfig([]byte(js))
		var ce *openclip.ConfigError
		if !errors.As(err, &ce) || ce.Field != field {
			t.Errorf("%s: got %v, want a ConfigError naming %s", js, err, field)
		}
	}
	ok := `{"model_cfg": {"embed_dim": 512, "quick_gelu": true, "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 32},
		"text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12}},
		"preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711],
		"interpolation": "bilinear", "resize_mode": "squash", "fill_color": 7, "size": [224, 224], "mode": "RGB"}}`
	c, err := openclip.ParseConfig([]byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	if c.Vision.NumAttentionHeads != 12 || c.Vision.IntermediateSize != 3072 || c.Vision.HiddenAct != "quick_gelu" ||
		c.Text.IntermediateSize != 2048 || c.Text.Pooling != "argmax" || c.Vision.LayerNormEps != 1e-5 {
		t.Errorf("ViT-B-32-quickgelu parsed as %+v / %+v", c.Vision, c.Text)
	}
	b, _ := json.Marshal(c.Preprocess)
	if want := `{"Size":224,"Mean":[0.48145466,0.4578275,0.40821073],"Std":[0.26862954,0.26130258,0.27577711],` +
		`"Interpolation":"bilinear","ResizeMode":"squash","FillColor":7}`; string(b) != want {
		t.Errorf("preprocess_cfg parsed as %s, want %s", b, want)
	}
	c, err = openclip.ParseConfig([]byte(`{"model_cfg": {"embed_dim": 8, "vision_cfg": {"image_size": 64}, "text_cfg": {}},
		"preprocess_cfg": {"mean": 0.5, "std": 0.25}}`))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ = json.Marshal(c.Preprocess); string(b) != `{"Size":64,"Mean":[0.5,0.5,0.5],"Std":[0.25,0.25,0.25],"Interpolation":"","ResizeMode":"","FillColor":0}` {
		t.Errorf("scalar mean/std parsed as %s", b)
	}
}
