package clip

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/safetensors"

	"github.com/goclip/goclip/synth"
)

// tinyDir writes a tiny synthetic model folder.
func tinyDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := synth.WriteModel(dir, synth.Tiny(), 5); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadTruncatedAndGarbage(t *testing.T) {
	dir := tinyDir(t)
	path := filepath.Join(dir, "model.safetensors")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hlen := int(binary.LittleEndian.Uint64(good))
	cases := map[string][]byte{
		"empty":              {},
		"4 bytes":            good[:4],
		"header length only": good[:8],
		"half header":        good[:8+hlen/2],
		"header only":        good[:8+hlen],
		"one byte short":     good[:len(good)-1],
		"one byte long":      append(append([]byte(nil), good...), 0),
		"huge header length": append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, good[8:]...),
		"garbage":            bytes.Repeat([]byte("garbage!"), 1000),
		"not json":           append([]byte{8, 0, 0, 0, 0, 0, 0, 0}, []byte("{{{{{{{{")...),
		"offsets past end":   stFile(`{"logit_scale":{"dtype":"F32","shape":[],"data_offsets":[0,400]}}`, 4),
		"negative shape":     stFile(`{"logit_scale":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, 4),
		"unknown dtype":      stFile(`{"logit_scale":{"dtype":"F8_E9M9","shape":[],"data_offsets":[0,4]}}`, 4),
		"shape overflow":     stFile(`{"x":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}}`, 4),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := Load(dir, nil)
			if err == nil {
				m.Close()
				t.Fatal("Load succeeded")
			}
			if !strings.Contains(err.Error(), "model.safetensors") {
				t.Errorf("error %q does not name the file", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// stFile builds a safetensors file from a header and n data bytes.
func stFile(header string, n int) []byte {
	for len(header)%8 != 0 {
		header += " "
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, n)...)
}

func TestLoadConfigErrors(t *testing.T) {
	cases := []struct {
		json, field string
	}{
		{`{"vision_config": {"hidden_size": "big"}}`, "vision_config.hidden_size"},
		{`{"text_config": {"eos_token_id": 2.5}}`, "text_config.eos_token_id"},
		{`{"projection_dim": [512]}`, "projection_dim"},
		{`{"text_config_dict": {"num_hidden_layers": "x"}}`, "text_config_dict.num_hidden_layers"},
		{`{"projection_dim": 0}`, "projection_dim"},
		{`{"vision_config": {"patch_size": 0}}`, "patch_size"},
		{`{"vision_config": {"image_size": 16}}`, "image_size"},
		{`{"vision_config": {"hidden_act": "relu"}}`, "hidden_act"},
		{`{"text_config": {"num_attention_heads": 7}}`, "num_attention_heads"},
		{`{"text_config": {"layer_norm_eps": -1}}`, "layer_norm_eps"},
		// Absurd sizes are rejected before anything is allocated by them
		// (num_hidden_layers 1e12 used to size a slice of layers).
		{`{"vision_config": {"num_hidden_layers": 1000000000000}}`, "num_hidden_layers"},
		{`{"text_config": {"hidden_size": 1000000000, "num_attention_heads": 1}}`, "hidden_size"},
		{`{"text_config": {"intermediate_size": 1000000000}}`, "intermediate_size"},
		{`{"projection_dim": 1000000000}`, "projection_dim"},
		{`{"vision_config": {"image_size": 1048576}}`, "image_size"},
		{`{"vision_config": {"num_channels": 1000000000}}`, "num_channels"},
		{`{"text_config": {"vocab_size": 1099511627776}}`, "vocab_size"},
		{`{"text_config": {"max_position_embeddings": 1000000000}}`, "max_position_embeddings"},
		{`[1, 2, 3]`, "config"},
		{`{"truncated": `, "config"},
		{``, "config"},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.json))
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: error %v, want *ConfigError", c.json, err)
			continue
		}
		if !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %q does not name %s", c.json, err, c.field)
		}
	}
}

func TestConfigLayouts(t *testing.T) {
	// The 2021 layout: omitted fields take transformers' defaults, and
	// *_config_dict, expanded with the defaults, replaces *_config.
	cfg, err := ParseConfig([]byte(`{"projection_dim": 512,
		"text_config": {"hidden_size": 64, "intermediate_size": 100, "hidden_act": "gelu"},
		"text_config_dict": {"num_hidden_layers": 6, "eos_token_id": 2, "bos_token_id": 0},
		"vision_config": {"patch_size": 32, "image_size": 224}, "vision_config_dict": null}`))
	if err != nil {
		t.Fatal(err)
	}
	tc, vc := cfg.TextConfig, cfg.VisionConfig
	if tc.NumHiddenLayers != 6 || tc.EOSTokenID != 2 || tc.VocabSize != 49408 || tc.MaxPositionEmbeddings != 77 ||
		tc.HiddenAct != "quick_gelu" || tc.IntermediateSize != 2048 || tc.NumAttentionHeads != 8 {
		t.Errorf("text config %+v", tc)
	}
	if vc.HiddenSize != 768 || vc.NumChannels != 3 || vc.LayerNormEps != 1e-5 || vc.NumHiddenLayers != 12 {
		t.Errorf("vision config %+v", vc)
	}
	if cfg.LogitScaleInitValue != 2.6592 {
		t.Errorf("logit_scale_init_value %g", cfg.LogitScaleInitValue)
	}
}

func TestLoadFolderErrors(t *testing.T) {
	empty := t.TempDir()
	if _, err := Load(empty, nil); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("empty folder: %v", err)
	}
	noModel := t.TempDir()
	os.WriteFile(filepath.Join(noModel, "config.json"), []byte(`{}`), 0o644)
	if _, err := Load(noModel, nil); err == nil || !strings.Contains(err.Error(), "model.safetensors") {
		t.Errorf("folder without weights: %v", err)
	}
}

// writeConfig replaces the config.json of dir with cfg.
func writeConfig(t *testing.T, dir string, cfg synth.Config) {
	t.Helper()
	b, err := json.Marshal(synth.ConfigJSON(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadTensorErrors(t *testing.T) {
	dir := tinyDir(t)
	// A config that disagrees with the weights: wrong shape, missing layer.
	cfg := synth.Tiny()
	cfg.Vision.IntermediateSize = 100
	writeConfig(t, dir, cfg)
	_, err := Load(dir, nil)
	var te *TensorError
	if !errors.As(err, &te) || !errors.Is(err, ErrShape) || te.Tensor != "vision_model.encoder.layers.0.mlp.fc1.weight" {
		t.Errorf("wrong intermediate_size: %v", err)
	}
	cfg = synth.Tiny()
	cfg.Text.NumHiddenLayers = 3
	writeConfig(t, dir, cfg)
	_, err = Load(dir, nil)
	if !errors.As(err, &te) || !errors.Is(err, ErrMissingTensor) || !strings.HasPrefix(te.Tensor, "text_model.encoder.layers.2.") {
		t.Errorf("too many layers: %v", err)
	}
	// An integer tensor where a float one is expected.
	w, err := safetensors.Parse("x.safetensors", stFile(`{"logit_scale":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}`, 8))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Tensor("logit_scale"); !errors.Is(err, ErrDType) || !strings.Contains(err.Error(), "logit_scale") {
		t.Errorf("I64 weight: %v", err)
	}
}

func TestEmbedInputErrors(t *testing.T) {
	m := loadOrFatal(t, tinyDir(t))
	ctx := context.Background()
	if _, err := m.EmbedPixels(ctx, make([]float32, 10)); err == nil {
		t.Error("wrong pixel count accepted")
	}
	if _, err := m.EmbedPixels(ctx, make([]float32, 3*m.ImageSize()*m.ImageSize()+1)); err == nil {
		t.Error("one value more than a whole image accepted")
	}
	// 40 images: more than one chunk of the tiny model's vision pass (32),
	// so the index must be of the whole batch.
	px := make([]float32, 40*3*m.ImageSize()*m.ImageSize())
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
		px[len(px)-1] = bad
		if _, err := m.EmbedPixels(ctx, px); err == nil || !strings.Contains(err.Error(), "image 39") {
			t.Errorf("pixel %g: %v", bad, err)
		}
	}
	long := make([]int32, 78)
	for i, bad := range [][]int32{{}, {49406, 49408}, {-1}, long} {
		if _, err := m.EmbedTokens(ctx, [][]int32{{49406, 49407}, bad}); err == nil || !strings.Contains(err.Error(), "sequence 1") {
			t.Errorf("bad sequence %d: %v", i, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.EmbedTokens(cancelled, [][]int32{{49406, 49407}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if v, err := m.EmbedPixels(ctx, nil); err != nil || len(v) != 0 {
		t.Errorf("zero images: %v %v", v, err)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"projection_dim": 24, "text_config": {"hidden_size": 32, "num_attention_heads": 4}, "vision_config_dict": {"image_size": 64, "patch_size": 16}}`))
	if b, err := json.Marshal(synth.ConfigJSON(synth.Tiny())); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err == nil && cfg.Validate() != nil {
			t.Fatal("ParseConfig returned an invalid config")
		}
	})
}

// shortStore is a tensor.Store that returns one tensor one value short.
type shortStore struct {
	w    *safetensors.Weights
	name string
}

func (s shortStore) Tensor(name string, shape ...int) ([]float32, error) {
	v, err := s.w.Tensor(name, shape...)
	if err == nil && name == s.name {
		v = v[:len(v)-1]
	}
	return v, err
}

func TestNewWithBadStore(t *testing.T) {
	dir := tinyDir(t)
	w, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range synth.Specs(synth.Tiny()) {
		if name.I64 {
			continue
		}
		_, err := newModel(*cfg, shortStore{w, name.Name}, &LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), name.Name) {
			t.Errorf("short %s: error %v", name.Name, err)
		}
	}
}

// TestBuiltinVocabularyRule: a folder without tokenizer files gets the
// built-in CLIP vocabulary only when its vocab_size is CLIP's.
func TestBuiltinVocabularyRule(t *testing.T) {
	for _, vocab := range []int{49408, 1000} {
		dir := t.TempDir()
		cfg := synth.Tiny()
		cfg.Text.VocabSize = vocab
		if err := synth.WriteModel(dir, cfg, 3); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"} {
			os.Remove(filepath.Join(dir, f))
		}
		m, err := Load(dir, nil)
		switch {
		case vocab == 49408 && err != nil:
			t.Errorf("CLIP vocabulary size, no files: %v", err)
		case vocab != 49408 && (err == nil || !strings.Contains(err.Error(), "vocab_size 1000")):
			t.Errorf("vocab_size %d, no files: err = %v, want the built-in vocabulary refused", vocab, err)
		}
		if err == nil {
			m.Close()
		}
	}
}
