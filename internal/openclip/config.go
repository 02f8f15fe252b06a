// Package openclip reads OpenCLIP checkpoints as published on the Hugging
// Face hub (open_clip_config.json and open_clip_model.safetensors) onto the
// CLIP towers of vit and textenc: ParseConfig turns model_cfg into their
// configs, refusing what the towers do not implement with an error naming
// the field, and Store serves the checkpoint's tensors under transformers'
// CLIPModel names.
package openclip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/textenc"
	"github.com/goclip/goclip/vit"
)

// Config is an open_clip_config.json mapped onto the CLIP towers.
type Config struct {
	EmbedDim int
	Vision   vit.Config
	Text     textenc.Config
	// TextPrefix is where the text tower's tensors live: "" for CLIP,
	// "text." for CustomTextCLIP (model_cfg.custom_text).
	TextPrefix string
	// LogitBias: the model has a logit_bias (model_cfg.init_logit_bias),
	// so its probabilities are sigmoids (SigLIP-style training).
	LogitBias bool
	// Preprocess is preprocess_cfg: open_clip's eval transform at the
	// vision tower's image_size (imageproc.NewOpenCLIP accepts it).
	Preprocess imageproc.OpenCLIPConfig
}

// ConfigError names the field of open_clip_config.json that is invalid or
// not implemented.
type ConfigError struct {
	Field string // e.g. "model_cfg.vision_cfg.attentional_pool"
	Msg   string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("openclip: open_clip_config.json: %s: %s", e.Field, e.Msg)
}

// Bounded like the rest of the config path: open_clip_config.json of real
// models is a few kB.
const maxConfigBytes = 1 << 20

// ParseConfig parses open_clip_config.json ({"model_cfg": …,
// "preprocess_cfg": …}).
func ParseConfig(data []byte) (*Config, error) {
	if len(data) > maxConfigBytes {
		return nil, &ConfigError{"json", fmt.Sprintf("%d bytes, more than %d", len(data), maxConfigBytes)}
	}
	var top struct {
		Model      map[string]json.RawMessage `json:"model_cfg"`
		Preprocess map[string]json.RawMessage `json:"preprocess_cfg"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, &ConfigError{"json", err.Error()}
	}
	if top.Model == nil {
		return nil, &ConfigError{"model_cfg", "missing"}
	}
	c := &Config{}
	f := fields{prefix: "model_cfg.", raw: top.Model}
	f.int("embed_dim", &c.EmbedDim, 0)
	var quick, custom bool
	f.bool("quick_gelu", &quick)
	f.bool("custom_text", &custom)
	var bias *float64
	f.any("init_logit_bias", &bias)
	c.LogitBias = bias != nil
	if custom {
		c.TextPrefix = "text."
	}
	f.ignore("cast_dtype", "init_logit_scale", "multimodal_cfg", "tokenizer_kwargs")
	act := "gelu"
	if quick {
		act = "quick_gelu"
	}
	var vraw, traw map[string]json.RawMessage
	f.any("vision_cfg", &vraw)
	f.any("text_cfg", &traw)
	if err := f.done(); err != nil {
		return nil, err
	}
	var err error
	if c.Vision, err = visionConfig(vraw, act, c.EmbedDim); err != nil {
		return nil, err
	}
	if c.Text, err = textConfig(traw, act, c.EmbedDim); err != nil {
		return nil, err
	}
	if c.Preprocess, err = preprocessConfig(top.Preprocess, c.Vision.ImageSize); err != nil {
		return nil, err
	}
	return c, nil
}

// preprocessConfig reads preprocess_cfg (open_clip's PreprocessCfg fields;
// absent ones take its defaults) and checks it with imageproc.NewOpenCLIP.
func preprocessConfig(raw map[string]json.RawMessage, imageSize int) (imageproc.OpenCLIPConfig, error) {
	pc := imageproc.OpenCLIPConfig{Size: imageSize}
	p := fields{prefix: "preprocess_cfg.", raw: raw}
	for _, f := range []struct {
		key string
		dst *[]float64
	}{{"mean", &pc.Mean}, {"std", &pc.Std}} {
		var x float64
		if v, ok := p.get(f.key); ok && json.Unmarshal(v, &x) == nil {
			*f.dst = []float64{x, x, x} // open_clip: a number applies to all channels
		} else {
			p.any(f.key, f.dst)
		}
	}
	p.any("interpolation", &pc.Interpolation)
	p.any("resize_mode", &pc.ResizeMode)
	p.int("fill_color", &pc.FillColor, 0)
	p.equal("mode", `"RGB"`)
	var size any
	p.any("size", &size)
	if err := p.done(); err != nil {
		return pc, err
	}
	if size != nil && fmt.Sprint(size) != fmt.Sprint(float64(imageSize)) && fmt.Sprint(size) != fmt.Sprint([]any{float64(imageSize), float64(imageSize)}) {
		return pc, &ConfigError{"preprocess_cfg.size", fmt.Sprintf("%v differs from vision_cfg.image_size %d (not implemented)", size, imageSize)}
	}
	if _, err := imageproc.NewOpenCLIP(&pc); err != nil {
		var ie *imageproc.ConfigError
		if errors.As(err, &ie) {
			return pc, &ConfigError{"preprocess_cfg." + ie.Field, ie.Msg}
		}
		return pc, &ConfigError{"preprocess_cfg", err.Error()}
	}
	return pc, nil
}

func visionConfig(raw map[string]json.RawMessage, act string, embed int) (vit.Config, error) {
	v := vit.DefaultConfig()
	v.HiddenAct, v.ProjectionDim = act, embed
	f := fields{prefix: "model_cfg.vision_cfg.", raw: raw}
	f.int("image_size", &v.ImageSize, 224)
	f.int("layers", &v.NumHiddenLayers, 12)
	f.int("width", &v.HiddenSize, 768)
	f.int("patch_size", &v.PatchSize, 16)
	headWidth := 64
	f.int("head_width", &headWidth, 64)
	ratio := 4.0
	f.any("mlp_ratio", &ratio)
	f.bool("no_ln_pre", &v.NoPreLayerNorm)
	var lnAfter bool // with class-token pooling LayerNorm commutes with pooling: both values give the same result
	f.bool("final_ln_after_pool", &lnAfter)
	f.eps(&v.LayerNormEps)
	f.equal("pool_type", `"tok"`)
	f.equal("pos_embed_type", `"learnable"`)
	f.equal("attentional_pool", `false`)
	f.custom()
	f.ignore("patch_dropout", "output_tokens", "attn_pooler_queries", "attn_pooler_heads",
		"timm_pool", "timm_proj", "timm_proj_bias", "timm_drop", "timm_drop_path", "timm_model_pretrained")
	f.equal("timm_model_name", `null`)
	if err := f.done(); err != nil {
		return v, err
	}
	if headWidth <= 0 || v.HiddenSize%headWidth != 0 {
		return v, &ConfigError{"model_cfg.vision_cfg.head_width", fmt.Sprintf("%d must divide width %d", headWidth, v.HiddenSize)}
	}
	v.NumAttentionHeads = v.HiddenSize / headWidth
	v.IntermediateSize = int(float64(v.HiddenSize) * ratio) // Python's int(width * mlp_ratio)
	if err := v.Validate(); err != nil {
		return v, &ConfigError{"model_cfg.vision_cfg", err.Error()}
	}
	return v, nil
}

func textConfig(raw map[string]json.RawMessage, act string, embed int) (textenc.Config, error) {
	t := textenc.DefaultConfig()
	t.HiddenAct, t.ProjectionDim = act, embed
	f := fields{prefix: "model_cfg.text_cfg.", raw: raw}
	f.int("context_length", &t.MaxPositionEmbeddings, 77)
	f.int("vocab_size", &t.VocabSize, 49408)
	f.int("width", &t.HiddenSize, 512)
	f.int("heads", &t.NumAttentionHeads, 8)
	f.int("layers", &t.NumHiddenLayers, 12)
	ratio := 4.0
	f.any("mlp_ratio", &ratio)
	t.Pooling = "argmax"
	f.any("pool_type", &t.Pooling)
	eos := 2
	f.int("eos_id", &eos, 2)
	f.int("pad_id", &t.PadTokenID, 0)
	f.eps(&t.LayerNormEps)
	var lnAfter bool // no effect on the text tower without embed_cls (open_clip 3.x)
	f.bool("final_ln_after_pool", &lnAfter)
	f.equal("no_causal_mask", `false`)
	f.equal("embed_cls", `false`)
	f.equal("proj_bias", `false`)
	f.equal("proj_type", `"linear"`)
	f.equal("hf_model_name", `null`)
	f.custom()
	f.ignore("output_tokens", "hf_tokenizer_name", "tokenizer_kwargs", "tokenizer_mode", "hf_model_pretrained",
		"hf_proj_type", "hf_pooler_type", "use_pad_mask", "correct_cls_mask")
	if err := f.done(); err != nil {
		return t, err
	}
	if !slices.Contains([]string{"argmax", "eos", "last"}, t.Pooling) {
		return t, &ConfigError{"model_cfg.text_cfg.pool_type", fmt.Sprintf("%q is not implemented (argmax, eos, last are)", t.Pooling)}
	}
	t.EOSTokenID = eos
	t.IntermediateSize = int(float64(t.HiddenSize) * ratio)
	if err := t.Validate(); err != nil {
		return t, &ConfigError{"model_cfg.text_cfg", err.Error()}
	}
	return t, nil
}

// fields walks one JSON object, recording the first error and which keys
// were consumed: done refuses any key left over, naming it.
type fields struct {
	prefix string
	raw    map[string]json.RawMessage
	seen   map[string]bool
	err    error
}

func (f *fields) get(key string) (json.RawMessage, bool) {
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	f.seen[key] = true
	v, ok := f.raw[key]
	if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil, false
	}
	return v, f.err == nil
}

func (f *fields) fail(key, msg string) {
	if f.err == nil {
		f.err = &ConfigError{f.prefix + key, msg}
	}
}

func (f *fields) any(key string, dst any) {
	if v, ok := f.get(key); ok {
		if err := json.Unmarshal(v, dst); err != nil {
			f.fail(key, err.Error())
		}
	}
}

func (f *fields) int(key string, dst *int, def int) {
	*dst = def
	var x float64
	if v, ok := f.get(key); ok {
		if err := json.Unmarshal(v, &x); err != nil || x != float64(int(x)) {
			f.fail(key, fmt.Sprintf("%s is not an integer (tuple sizes are not implemented)", v))
			return
		}
		*dst = int(x)
	}
}

func (f *fields) bool(key string, dst *bool) { f.any(key, dst) }

// equal accepts key only absent, null or with the value want (the default
// the towers implement).
func (f *fields) equal(key, want string) {
	v, ok := f.get(key)
	if !ok {
		return
	}
	var a, b any
	if json.Unmarshal(v, &a) != nil || json.Unmarshal([]byte(want), &b) != nil || fmt.Sprint(a) != fmt.Sprint(b) {
		f.fail(key, fmt.Sprintf("%s is not implemented (only %s)", v, want))
	}
}

// eps reads norm_kwargs, of which only {"eps": x} is implemented.
func (f *fields) eps(dst *float64) {
	*dst = 1e-5 // torch.nn.LayerNorm's default
	var kw map[string]float64
	f.any("norm_kwargs", &kw)
	for k, x := range kw {
		if k != "eps" {
			f.fail("norm_kwargs", fmt.Sprintf("%q is not implemented (only eps)", k))
		}
		*dst = x
	}
}

// custom refuses the custom attention block options and layer scale.
func (f *fields) custom() {
	for _, k := range []string{"qk_norm", "scaled_cosine_attn", "scale_heads", "scale_attn_inner", "scale_attn", "scale_fc"} {
		f.equal(k, "false")
	}
	f.equal("block_type", `"default"`)
	f.equal("ls_init_value", "null")
	f.equal("act_kwargs", "null")
}

func (f *fields) ignore(keys ...string) {
	for _, k := range keys {
		f.get(k)
	}
}

// done returns the first error, or names a key nothing consumed.
func (f *fields) done() error {
	if f.err != nil {
		return f.err
	}
	var extra []string
	for k := range f.raw {
		if !f.seen[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return &ConfigError{f.prefix + extra[0], "unknown field (not implemented)"}
	}
	return nil
}
