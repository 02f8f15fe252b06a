package synth

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goclip/goclip/textenc"
	"github.com/goclip/goclip/vit"
)

// Model families a Config can describe (Config.Family).
const (
	FamilyCLIP     = ""         // transformers CLIPModel (config.json, model.safetensors)
	FamilySigLIP   = "siglip"   // transformers SiglipModel, also SigLIP 2's fixed-resolution checkpoints
	FamilyOpenCLIP = "openclip" // open_clip_config.json, open_clip_model.safetensors
	FamilySigLIP2  = "siglip2"  // transformers Siglip2Model (SigLIP 2 NaFlex)
)

// Presets names the shapes Preset knows.
var Presets = []string{"tiny", "b32", "siglip-tiny", "siglip-b16", "siglip2-tiny", "siglip2-b16-naflex",
	"openclip-tiny", "openclip-b32", "openclip-b16"}

// Preset returns a named shape: tiny and b32 (CLIP, as Tiny and B32),
// siglip-tiny and siglip-b16 (google/siglip-base-patch16-224),
// siglip2-tiny and siglip2-b16-naflex (google/siglip2-base-patch16-naflex),
// openclip-tiny,
// openclip-b32 and openclip-b16 (LAION's ViT-B-32 / ViT-B-16: exact GELU,
// text pooled at the argmax id).
func Preset(name string) (Config, error) {
	switch name {
	case "tiny":
		return Tiny(), nil
	case "b32":
		return B32(), nil
	case "siglip-b16", "siglip-tiny":
		t, v := textenc.DefaultSigLIPConfig(), vit.DefaultSigLIPConfig()
		if name == "siglip-tiny" {
			t.VocabSize, t.HiddenSize, t.IntermediateSize, t.NumHiddenLayers, t.NumAttentionHeads = 1000, 32, 64, 2, 4
			t.MaxPositionEmbeddings, t.ProjectionSize = 16, 48
			v.HiddenSize, v.IntermediateSize, v.NumHiddenLayers, v.NumAttentionHeads = 48, 96, 2, 4
			v.ImageSize, v.PatchSize = 64, 16
		}
		return Config{Family: FamilySigLIP, Text: t, Vision: v, ProjectionDim: v.HiddenSize}, nil
	case "siglip2-tiny", "siglip2-b16-naflex":
		return siglip2Preset(name), nil
	case "openclip-tiny", "openclip-b32", "openclip-b16":
		c := B32()
		if name == "openclip-tiny" {
			c = Tiny()
		}
		c.Family = FamilyOpenCLIP
		c.Text.HiddenAct, c.Vision.HiddenAct = "gelu", "gelu"
		c.Text.Pooling, c.Text.EOSTokenID, c.Text.PadTokenID = "argmax", 2, 0
		if name == "openclip-b16" {
			c.Vision.PatchSize = 16
		}
		return c, nil
	}
	return Config{}, fmt.Errorf("synth: unknown preset %q (want one of %s)", name, strings.Join(Presets, ", "))
}

// sigLIPSpecs lists a SiglipModel checkpoint's tensors.
func sigLIPSpecs(cfg Config) []Spec {
	t, v := cfg.Text, cfg.Vision
	var s []Spec
	add := func(name string, shape ...int) { s = append(s, Spec{Name: name, Shape: shape}) }
	add("logit_scale", 1)
	add("logit_bias", 1)
	add("text_model.embeddings.token_embedding.weight", t.VocabSize, t.HiddenSize)
	add("text_model.embeddings.position_embedding.weight", t.MaxPositionEmbeddings, t.HiddenSize)
	hfLayers(add, "text_model.", t.NumHiddenLayers, t.HiddenSize, t.IntermediateSize)
	add("text_model.final_layer_norm.weight", t.HiddenSize)
	add("text_model.final_layer_norm.bias", t.HiddenSize)
	add("text_model.head.weight", t.HeadSize(), t.HiddenSize)
	add("text_model.head.bias", t.HeadSize())
	w := v.HiddenSize
	add("vision_model.embeddings.patch_embedding.weight", w, v.NumChannels, v.PatchSize, v.PatchSize)
	add("vision_model.embeddings.patch_embedding.bias", w)
	add("vision_model.embeddings.position_embedding.weight", v.Tokens(), w)
	hfLayers(add, "vision_model.", v.NumHiddenLayers, w, v.IntermediateSize)
	add("vision_model.post_layernorm.weight", w)
	add("vision_model.post_layernorm.bias", w)
	add("vision_model.head.probe", 1, 1, w)
	add("vision_model.head.attention.in_proj_weight", 3*w, w)
	add("vision_model.head.attention.in_proj_bias", 3*w)
	add("vision_model.head.attention.out_proj.weight", w, w)
	add("vision_model.head.attention.out_proj.bias", w)
	add("vision_model.head.layernorm.weight", w)
	add("vision_model.head.layernorm.bias", w)
	add("vision_model.head.mlp.fc1.weight", v.IntermediateSize, w)
	add("vision_model.head.mlp.fc1.bias", v.IntermediateSize)
	add("vision_model.head.mlp.fc2.weight", w, v.IntermediateSize)
	add("vision_model.head.mlp.fc2.bias", w)
	sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
	return s
}

// hfLayers adds the encoder layers of a transformers CLIP/SigLIP tower.
func hfLayers(add func(string, ...int), prefix string, n, w, inter int) {
	for i := 0; i < n; i++ {
		p := fmt.Sprintf("%sencoder.layers.%d.", prefix, i)
		for _, q := range []string{"q_proj", "k_proj", "v_proj", "out_proj"} {
			add(p+"self_attn."+q+".weight", w, w)
			add(p+"self_attn."+q+".bias", w)
		}
		for _, ln := range []string{"layer_norm1", "layer_norm2"} {
			add(p+ln+".weight", w)
			add(p+ln+".bias", w)
		}
		add(p+"mlp.fc1.weight", inter, w)
		add(p+"mlp.fc1.bias", inter)
		add(p+"mlp.fc2.weight", w, inter)
		add(p+"mlp.fc2.bias", w)
	}
}

// openCLIPSpecs lists an OpenCLIP CLIP checkpoint's tensors (its
// state_dict names).
func openCLIPSpecs(cfg Config) []Spec {
	t, v := cfg.Text, cfg.Vision
	var s []Spec
	add := func(name string, shape ...int) { s = append(s, Spec{Name: name, Shape: shape}) }
	blocks := func(prefix string, n, w, inter int) {
		for i := 0; i < n; i++ {
			p := fmt.Sprintf("%stransformer.resblocks.%d.", prefix, i)
			add(p+"attn.in_proj_weight", 3*w, w)
			add(p+"attn.in_proj_bias", 3*w)
			add(p+"attn.out_proj.weight", w, w)
			add(p+"attn.out_proj.bias", w)
			for _, ln := range []string{"ln_1", "ln_2"} {
				add(p+ln+".weight", w)
				add(p+ln+".bias", w)
			}
			add(p+"mlp.c_fc.weight", inter, w)
			add(p+"mlp.c_fc.bias", inter)
			add(p+"mlp.c_proj.weight", w, inter)
			add(p+"mlp.c_proj.bias", w)
		}
	}
	add("logit_scale")
	add("token_embedding.weight", t.VocabSize, t.HiddenSize)
	add("positional_embedding", t.MaxPositionEmbeddings, t.HiddenSize)
	blocks("", t.NumHiddenLayers, t.HiddenSize, t.IntermediateSize)
	add("ln_final.weight", t.HiddenSize)
	add("ln_final.bias", t.HiddenSize)
	add("text_projection", t.HiddenSize, cfg.ProjectionDim)
	w := v.HiddenSize
	add("visual.class_embedding", w)
	add("visual.conv1.weight", w, v.NumChannels, v.PatchSize, v.PatchSize)
	add("visual.positional_embedding", v.Tokens(), w)
	if !v.NoPreLayerNorm {
		add("visual.ln_pre.weight", w)
		add("visual.ln_pre.bias", w)
	}
	blocks("visual.", v.NumHiddenLayers, w, v.IntermediateSize)
	add("visual.ln_post.weight", w)
	add("visual.ln_post.bias", w)
	add("visual.proj", w, cfg.ProjectionDim)
	sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
	return s
}

// familyFiles writes the config files of cfg's family to dir and returns
// the weights file name.
func familyFiles(dir string, cfg Config) (string, error) {
	switch cfg.Family {
	case FamilySigLIP:
		if err := writeJSON(filepath.Join(dir, "config.json"), sigLIPConfigJSON(cfg)); err != nil {
			return "", err
		}
		if err := writeSigLIPTokenizer(dir); err != nil {
			return "", err
		}
		return "model.safetensors", writeJSON(filepath.Join(dir, "preprocessor_config.json"), sigLIPPreprocessorJSON(cfg.Vision.ImageSize))
	case FamilySigLIP2:
		return "model.safetensors", siglip2Files(dir, cfg)
	case FamilyOpenCLIP:
		return "open_clip_model.safetensors", writeJSON(filepath.Join(dir, "open_clip_config.json"), OpenCLIPConfigJSON(cfg))
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), ConfigJSON(cfg)); err != nil {
		return "", err
	}
	return "model.safetensors", writeJSON(filepath.Join(dir, "preprocessor_config.json"), PreprocessorJSON(cfg.Vision.ImageSize))
}

func sigLIPConfigJSON(cfg Config) map[string]any {
	t, v := cfg.Text, cfg.Vision
	return map[string]any{
		"architectures":        []string{"SiglipModel"},
		"model_type":           "siglip",
		"transformers_version": "5.24.0",
		"initializer_factor":   pyFloat(1),
		"text_config": map[string]any{
			"model_type": "siglip_text_model", "vocab_size": t.VocabSize, "hidden_size": t.HiddenSize,
			"intermediate_size": t.IntermediateSize, "num_hidden_layers": t.NumHiddenLayers,
			"num_attention_heads": t.NumAttentionHeads, "max_position_embeddings": t.MaxPositionEmbeddings,
			"hidden_act": t.HiddenAct, "layer_norm_eps": pyFloat(t.LayerNormEps), "attention_dropout": pyFloat(0),
			"pad_token_id": 1, "eos_token_id": 1, "projection_size": t.HeadSize(),
		},
		"vision_config": map[string]any{
			"model_type": "siglip_vision_model", "hidden_size": v.HiddenSize, "intermediate_size": v.IntermediateSize,
			"num_hidden_layers": v.NumHiddenLayers, "num_attention_heads": v.NumAttentionHeads,
			"num_channels": v.NumChannels, "image_size": v.ImageSize, "patch_size": v.PatchSize,
			"hidden_act": v.HiddenAct, "layer_norm_eps": pyFloat(v.LayerNormEps), "attention_dropout": pyFloat(0),
			"vision_use_head": true,
		},
	}
}

func sigLIPPreprocessorJSON(size int) map[string]any {
	return map[string]any{
		"do_convert_rgb": true, "do_normalize": true, "do_rescale": true, "do_resize": true,
		"image_mean": []float64{0.5, 0.5, 0.5}, "image_std": []float64{0.5, 0.5, 0.5},
		"image_processor_type": "SiglipImageProcessor", "processor_class": "SiglipProcessor",
		"resample": 3, "rescale_factor": pyFloat(0.00392156862745098),
		"size": map[string]int{"height": size, "width": size},
	}
}

// OpenCLIPConfigJSON is cfg as open_clip_config.json (open_clip's
// save_config_for_hf layout).
func OpenCLIPConfigJSON(cfg Config) map[string]any {
	t, v := cfg.Text, cfg.Vision
	vc := map[string]any{
		"image_size": v.ImageSize, "layers": v.NumHiddenLayers, "width": v.HiddenSize,
		"head_width": v.HiddenSize / v.NumAttentionHeads, "patch_size": v.PatchSize,
		"mlp_ratio": pyFloat(float64(v.IntermediateSize) / float64(v.HiddenSize)),
	}
	if v.NoPreLayerNorm {
		vc["no_ln_pre"] = true
	}
	pool := t.Pooling
	if pool == "" {
		pool = "argmax"
	}
	tc := map[string]any{
		"context_length": t.MaxPositionEmbeddings, "vocab_size": t.VocabSize, "width": t.HiddenSize,
		"heads": t.NumAttentionHeads, "layers": t.NumHiddenLayers,
		"mlp_ratio": pyFloat(float64(t.IntermediateSize) / float64(t.HiddenSize)), "pool_type": pool,
	}
	if pool == "eos" {
		tc["eos_id"] = t.EOSTokenID
	}
	mc := map[string]any{"embed_dim": cfg.ProjectionDim, "vision_cfg": vc, "text_cfg": tc}
	if v.HiddenAct == "quick_gelu" {
		mc["quick_gelu"] = true
	}
	return map[string]any{
		"model_cfg": mc,
		"preprocess_cfg": map[string]any{
			"mean": []float64{0.48145466, 0.4578275, 0.40821073},
			"std":  []float64{0.26862954, 0.26130258, 0.27577711},
		},
	}
}
