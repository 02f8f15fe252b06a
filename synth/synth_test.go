package synth_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/testref"
	"github.com/goclip/goclip/synth"
	"github.com/nlpodyssey/safetensors"
)

// Known values of the recipe computed by hand from its definition (the
// splitmix64 stream) for a tiny case, independent of the reference data.
func TestScaleRules(t *testing.T) {
	cases := map[string][2]float64{
		"logit_scale": {4.6052, 0},
		"vision_model.encoder.layers.0.layer_norm1.weight":    {1, 0.25},
		"vision_model.pre_layrnorm.weight":                    {1, 0.25},
		"vision_model.pre_layrnorm.bias":                      {0, 0.1},
		"text_model.encoder.layers.3.mlp.fc1.bias":            {0, 0.05},
		"vision_model.embeddings.class_embedding":             {0, 0.5},
		"text_model.embeddings.token_embedding.weight":        {0, 0.08},
		"text_model.embeddings.position_embedding.weight":     {0, 0.03},
		"vision_model.embeddings.patch_embedding.weight":      {0, 0.035},
		"text_model.encoder.layers.0.self_attn.k_proj.weight": {0, 0.12},
		"text_model.encoder.layers.0.mlp.fc1.weight":          {0, 0.06},
		"visual_projection.weight":                            {0, 0.035},
		// SigLIP and OpenCLIP names.
		"logit_bias":                                         {-10, 0},
		"vision_model.head.layernorm.weight":                 {1, 0.25},
		"vision_model.head.probe":                            {0, 0.035},
		"visual.transformer.resblocks.0.ln_1.weight":         {1, 0.25},
		"ln_final.weight":                                    {1, 0.25},
		"visual.ln_post.bias":                                {0, 0.05},
		"visual.transformer.resblocks.0.attn.in_proj_weight": {0, 0.035},
		"visual.kln_1.weight":                                {0, 0.035},
	}
	for name, want := range cases {
		c, a := synth.Scale(name)
		if c != want[0] || a != want[1] {
			t.Errorf("Scale(%q) = (%g,%g), want (%g,%g)", name, c, a, want[0], want[1])
		}
	}
	v := synth.Tensor("x.weight", []int{1000}, 7)
	for i, x := range v {
		if x < -0.035 || x >= 0.035 {
			t.Fatalf("element %d = %g outside [-0.035,0.035)", i, x)
		}
	}
	if reflect.DeepEqual(v, synth.Tensor("x.weight", []int{1000}, 8)) {
		t.Error("seed does not change the values")
	}
}

// TestMatchesSharedTiny compares every tensor with the reference tiny
// models' weights (seed 1 and 2), bit for bit.
func TestMatchesSharedTiny(t *testing.T) {
	ref := testref.Dir(t)
	for name, seed := range map[string]uint64{"tiny-quickgelu": 1, "tiny-gelu": 2} {
		dir := filepath.Join(ref, "models", name)
		data, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		st, err := safetensors.Deserialize(data)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := clip.LoadConfig(filepath.Join(dir, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		specs := synth.Specs(synth.Config{Text: cfg.TextConfig, Vision: cfg.VisionConfig, ProjectionDim: cfg.ProjectionDim})
		if len(specs) != st.Len() {
			t.Errorf("%s: %d tensors, reference has %d", name, len(specs), st.Len())
		}
		for _, s := range specs {
			tv, ok := st.Tensor(s.Name)
			if !ok {
				t.Errorf("%s: reference lacks %s", name, s.Name)
				continue
			}
			if s.I64 {
				continue
			}
			got := synth.Tensor(s.Name, s.Shape, seed)
			if string(f32bytes(got)) != string(tv.Data()) {
				t.Errorf("%s: %s differs from the reference", name, s.Name)
			}
		}
	}
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		u := mathFloat32bits(x)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return b
}

// TestB32Hashes regenerates the full-size ViT-B/32 synthetic checkpoint
// (605 MB) with WriteModel and checks the sha256 of every tensor against
// the reference tensors.json.
func TestB32Hashes(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and hashes 605 MB; skipped with -short")
	}
	ref := testref.Dir(t)
	raw, err := os.ReadFile(filepath.Join(ref, "models", "b32-synthetic", "tensors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Seed    uint64
		Tensors map[string]struct {
			Shape  []int
			DType  string
			SHA256 string
			Values string // I64 buffers: "0..N-1" instead of a hash
		}
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	cfg, err := clip.LoadConfig(filepath.Join(ref, "models", "b32-synthetic", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := synth.WriteModel(dir, synth.Config{Text: cfg.TextConfig, Vision: cfg.VisionConfig, ProjectionDim: cfg.ProjectionDim}, want.Seed); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		t.Fatal(err)
	}
	if st.Len() != len(want.Tensors) {
		t.Errorf("%d tensors, reference lists %d", st.Len(), len(want.Tensors))
	}
	for name, w := range want.Tensors {
		tv, ok := st.Tensor(name)
		if !ok {
			t.Errorf("missing %s", name)
			continue
		}
		if tv.DType().String() != w.DType {
			t.Errorf("%s: dtype %s, want %s", name, tv.DType(), w.DType)
		}
		var shape []int
		for _, d := range tv.Shape() {
			shape = append(shape, int(d))
		}
		if len(shape) != len(w.Shape) || (len(shape) > 0 && !reflect.DeepEqual(shape, w.Shape)) {
			t.Errorf("%s: shape %v, want %v", name, shape, w.Shape)
		}
		if w.SHA256 == "" {
			b := tv.Data()
			got := ""
			if n := len(b) / 8; n > 0 && tv.DType() == safetensors.I64 {
				ok := true
				for i := 0; i < n; i++ {
					ok = ok && binary.LittleEndian.Uint64(b[8*i:]) == uint64(i)
				}
				if ok {
					got = fmt.Sprintf("0..%d", n-1)
				}
			}
			if got != w.Values {
				t.Errorf("%s: values %q, want %q", name, got, w.Values)
			}
			continue
		}
		sum := sha256.Sum256(tv.Data())
		if hex.EncodeToString(sum[:]) != w.SHA256 {
			t.Errorf("%s: sha256 differs from the reference", name)
		}
	}
	// The folder written must load.
	m, err := clip.Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
}

// TestConfigJSON checks the written config round-trips through clip's
// parser and writes float fields as floats (transformers rejects 1 for a
// float field; it needs 1.0).
func TestConfigJSON(t *testing.T) {
	cfg := synth.Tiny()
	cfg.Text.HiddenAct, cfg.Text.EOSTokenID = "gelu", 49407
	b, err := json.Marshal(synth.ConfigJSON(cfg))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"initializer_factor":1.0`, `"attention_dropout":0.0`, `"layer_norm_eps":1e-05`, `"logit_scale_init_value":2.6592`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config JSON lacks %s: %s", want, b)
		}
	}
	got, err := clip.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.TextConfig, cfg.Text) || !reflect.DeepEqual(got.VisionConfig, cfg.Vision) || got.ProjectionDim != cfg.ProjectionDim {
		t.Errorf("round trip: got %+v, want %+v", got, cfg)
	}
}

// TestBadConfig: a malformed or huge config is an error before anything
// is allocated or written (negative sizes used to panic in make).
func TestBadConfig(t *testing.T) {
	neg := synth.Tiny()
	neg.Vision.IntermediateSize = -1
	noProj := synth.Tiny()
	noProj.ProjectionDim = 0
	huge := synth.Tiny()
	huge.Vision.HiddenSize, huge.Vision.IntermediateSize, huge.Vision.NumAttentionHeads = 1<<16, 1<<16, 1
	for name, cfg := range map[string]synth.Config{"negative": neg, "projection": noProj, "huge tensor": huge} {
		dir := filepath.Join(t.TempDir(), "m")
		if err := synth.WriteModel(dir, cfg, 1); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s: model folder created", name)
		}
	}
}
