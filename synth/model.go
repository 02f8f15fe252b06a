package synth

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/goclip/goclip/internal/atomicfile"
	"github.com/goclip/goclip/internal/safetensors"
	"github.com/goclip/goclip/textenc"
	"github.com/goclip/goclip/vit"
)

// Config is the shape of a CLIP model to synthesise (the fields of
// clip.Config, without importing clip so that clip's tests can use synth).
type Config struct {
	Family              string // FamilyCLIP (""), FamilySigLIP, FamilySigLIP2 or FamilyOpenCLIP
	Text                textenc.Config
	Vision              vit.Config
	ProjectionDim       int
	LogitScaleInitValue float64
}

// maxTensor bounds the values of one synthesised tensor (1 GB of float32),
// which WriteSafetensors holds in memory; the largest in published CLIP
// models (ViT-bigG/14) has 13.6 M.
const maxTensor = 1 << 28

// Validate checks cfg as clip.Config.Validate does, and that no tensor is
// too large to synthesise.
func (c Config) Validate() error {
	if err := c.Vision.Validate(); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if err := c.Text.Validate(); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if c.ProjectionDim <= 0 || c.ProjectionDim > 1<<16 {
		return fmt.Errorf("synth: projection_dim %d must be in [1,%d]", c.ProjectionDim, 1<<16)
	}
	switch c.Family {
	case FamilyCLIP, FamilyOpenCLIP:
		if c.Vision.SigLIP || c.Text.SigLIP {
			return fmt.Errorf("synth: SigLIP towers in a %q model", c.Family)
		}
	case FamilySigLIP, FamilySigLIP2:
		if !c.Vision.SigLIP || !c.Text.SigLIP {
			return fmt.Errorf("synth: a SigLIP model needs SigLIP towers")
		}
		if c.Vision.NaFlex != (c.Family == FamilySigLIP2) {
			return fmt.Errorf("synth: a NaFlex vision tower goes with family %q only", FamilySigLIP2)
		}
		if c.Text.HeadSize() != c.Vision.HiddenSize {
			return fmt.Errorf("synth: SigLIP text projection_size %d differs from the vision hidden_size %d", c.Text.HeadSize(), c.Vision.HiddenSize)
		}
	default:
		return fmt.Errorf("synth: unknown family %q", c.Family)
	}
	for _, s := range Specs(c) {
		if s.elems() > maxTensor {
			return fmt.Errorf("synth: tensor %s %v has more than %d values", s.Name, s.Shape, maxTensor)
		}
	}
	return nil
}

// Tiny is the shape of the reference tiny models: 64 px images, patch 16,
// vision width 48 and text width 32, 2 layers and 4 heads each, projection
// 24, the full 49,408-token vocabulary. hidden_act and eos_token_id are
// the caller's choice (Tiny sets quick_gelu and legacy pooling).
func Tiny() Config {
	t := textenc.DefaultConfig()
	t.HiddenSize, t.IntermediateSize, t.NumHiddenLayers, t.NumAttentionHeads, t.ProjectionDim = 32, 64, 2, 4, 24
	t.EOSTokenID = 2
	v := vit.DefaultConfig()
	v.HiddenSize, v.IntermediateSize, v.NumHiddenLayers, v.NumAttentionHeads, v.ProjectionDim = 48, 96, 2, 4, 24
	v.ImageSize, v.PatchSize = 64, 16
	return Config{Text: t, Vision: v, ProjectionDim: 24, LogitScaleInitValue: 2.6592}
}

// B32 is the shape of openai/clip-vit-base-patch32 (quick_gelu, legacy
// pooling with eos_token_id 2 as in its config).
func B32() Config {
	t := textenc.DefaultConfig()
	t.EOSTokenID, t.BOSTokenID = 2, 0
	return Config{Text: t, Vision: vit.DefaultConfig(), ProjectionDim: 512, LogitScaleInitValue: 2.6592}
}

// Spec is one tensor of a checkpoint.
type Spec struct {
	Name  string
	Shape []int
	I64   bool // an int64 position_ids buffer holding 0…N-1
}

// Specs lists every tensor of a checkpoint of cfg's family with cfg's
// shapes, sorted by name, including CLIPModel's I64 position_ids buffers.
func Specs(cfg Config) []Spec {
	switch cfg.Family {
	case FamilySigLIP:
		return sigLIPSpecs(cfg)
	case FamilySigLIP2:
		return siglip2Specs(cfg)
	case FamilyOpenCLIP:
		return openCLIPSpecs(cfg)
	}
	t, v := cfg.Text, cfg.Vision
	var s []Spec
	add := func(name string, shape ...int) { s = append(s, Spec{Name: name, Shape: shape}) }
	add("logit_scale")
	add("text_model.embeddings.token_embedding.weight", t.VocabSize, t.HiddenSize)
	add("text_model.embeddings.position_embedding.weight", t.MaxPositionEmbeddings, t.HiddenSize)
	s = append(s, Spec{Name: "text_model.embeddings.position_ids", Shape: []int{1, t.MaxPositionEmbeddings}, I64: true})
	hfLayers(add, "text_model.", t.NumHiddenLayers, t.HiddenSize, t.IntermediateSize)
	add("text_model.final_layer_norm.weight", t.HiddenSize)
	add("text_model.final_layer_norm.bias", t.HiddenSize)
	tokens := v.Tokens()
	add("vision_model.embeddings.class_embedding", v.HiddenSize)
	add("vision_model.embeddings.patch_embedding.weight", v.HiddenSize, v.NumChannels, v.PatchSize, v.PatchSize)
	add("vision_model.embeddings.position_embedding.weight", tokens, v.HiddenSize)
	s = append(s, Spec{Name: "vision_model.embeddings.position_ids", Shape: []int{1, tokens}, I64: true})
	add("vision_model.pre_layrnorm.weight", v.HiddenSize)
	add("vision_model.pre_layrnorm.bias", v.HiddenSize)
	hfLayers(add, "vision_model.", v.NumHiddenLayers, v.HiddenSize, v.IntermediateSize)
	add("vision_model.post_layernorm.weight", v.HiddenSize)
	add("vision_model.post_layernorm.bias", v.HiddenSize)
	add("visual_projection.weight", cfg.ProjectionDim, v.HiddenSize)
	add("text_projection.weight", cfg.ProjectionDim, t.HiddenSize)
	sort.Slice(s, func(i, j int) bool { return s[i].Name < s[j].Name })
	return s
}

func (s Spec) elems() int {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// WriteSafetensors writes the checkpoint of cfg with the recipe's weights
// for seed to path (tensors in name order, metadata {"format":"pt"} like a
// PyTorch export), atomically: each tensor is generated as it is written,
// so memory holds one tensor at a time.
func WriteSafetensors(path string, cfg Config, seed uint64) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	specs := Specs(cfg)
	entries := make([]safetensors.Entry, len(specs))
	var buf []float32
	for i, s := range specs {
		e := safetensors.Entry{Name: s.Name, DType: "F32", Shape: s.Shape}
		if s.I64 { // position_ids: 0…n-1
			e.DType = "I64"
			e.WriteData = func(w io.Writer) error {
				b := make([]byte, 8*s.elems())
				for i := range s.elems() {
					binary.LittleEndian.PutUint64(b[8*i:], uint64(i))
				}
				_, err := w.Write(b)
				return err
			}
		} else {
			e.WriteData = func(w io.Writer) error {
				if cap(buf) < s.elems() {
					buf = make([]float32, s.elems())
				}
				buf = buf[:s.elems()]
				Fill(buf, s.Name, seed)
				_, err := w.Write(safetensors.Float32Bytes(buf))
				return err
			}
		}
		entries[i] = e
	}
	return safetensors.SaveEntries(path, entries, map[string]string{"format": "pt"})
}

// WriteModel writes a complete model folder to dir (created if needed):
// config.json in the transformers-5 layout, model.safetensors with the
// recipe's weights for seed, and preprocessor_config.json; for an
// OpenCLIP Config open_clip_config.json and open_clip_model.safetensors.
// CLIP tokenizer files are not written: the tokenizer package has the CLIP
// vocabulary built in; a SigLIP folder gets a small spiece.model
// (WriteSpiece).
func WriteModel(dir string, cfg Config, seed uint64) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	weights, err := familyFiles(dir, cfg)
	if err != nil {
		return err
	}
	return WriteSafetensors(filepath.Join(dir, weights), cfg, seed)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'))
}

// ConfigJSON is cfg as a transformers-5 config.json object.
func ConfigJSON(cfg Config) map[string]any {
	t, v := cfg.Text, cfg.Vision
	return map[string]any{
		"architectures":          []string{"CLIPModel"},
		"model_type":             "clip",
		"transformers_version":   "5.17.0",
		"projection_dim":         cfg.ProjectionDim,
		"logit_scale_init_value": pyFloat(cfg.LogitScaleInitValue),
		"initializer_factor":     pyFloat(1),
		"text_config": map[string]any{
			"model_type":              "clip_text_model",
			"vocab_size":              t.VocabSize,
			"hidden_size":             t.HiddenSize,
			"intermediate_size":       t.IntermediateSize,
			"projection_dim":          t.ProjectionDim,
			"num_hidden_layers":       t.NumHiddenLayers,
			"num_attention_heads":     t.NumAttentionHeads,
			"max_position_embeddings": t.MaxPositionEmbeddings,
			"hidden_act":              t.HiddenAct,
			"layer_norm_eps":          pyFloat(t.LayerNormEps),
			"attention_dropout":       pyFloat(0),
			"initializer_range":       pyFloat(0.02),
			"initializer_factor":      pyFloat(1),
			"pad_token_id":            t.PadTokenID,
			"bos_token_id":            t.BOSTokenID,
			"eos_token_id":            t.EOSTokenID,
		},
		"vision_config": map[string]any{
			"model_type":          "clip_vision_model",
			"hidden_size":         v.HiddenSize,
			"intermediate_size":   v.IntermediateSize,
			"projection_dim":      v.ProjectionDim,
			"num_hidden_layers":   v.NumHiddenLayers,
			"num_attention_heads": v.NumAttentionHeads,
			"num_channels":        v.NumChannels,
			"image_size":          v.ImageSize,
			"patch_size":          v.PatchSize,
			"hidden_act":          v.HiddenAct,
			"layer_norm_eps":      pyFloat(v.LayerNormEps),
			"attention_dropout":   pyFloat(0),
			"initializer_range":   pyFloat(0.02),
			"initializer_factor":  pyFloat(1),
		},
	}
}

// PreprocessorJSON is the CLIPImageProcessor config of an S-pixel model
// (OpenAI mean and std, bicubic resize of the shortest edge, centre crop).
func PreprocessorJSON(size int) map[string]any {
	return map[string]any{
		"crop_size":            map[string]int{"height": size, "width": size},
		"do_center_crop":       true,
		"do_convert_rgb":       true,
		"do_normalize":         true,
		"do_rescale":           true,
		"do_resize":            true,
		"image_mean":           []float64{0.48145466, 0.4578275, 0.40821073},
		"image_processor_type": "CLIPImageProcessor",
		"image_std":            []float64{0.26862954, 0.26130258, 0.27577711},
		"resample":             3,
		"rescale_factor":       pyFloat(0.00392156862745098),
		"size":                 map[string]int{"shortest_edge": size},
	}
}

// pyFloat formats x as a JSON number that Python reads as a float (1.0, not
// 1): transformers' config classes reject ints in float fields.
func pyFloat(x float64) json.Number {
	s := strconv.FormatFloat(x, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") { // n: NaN, Inf are not valid JSON anyway
		s += ".0"
	}
	return json.Number(s)
}
