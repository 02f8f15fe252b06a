package synth

import (
	"path/filepath"

	"github.com/goclip/goclip/textenc"
	"github.com/goclip/goclip/vit"
)

// siglip2Preset returns siglip2-tiny or siglip2-b16-naflex
// (google/siglip2-base-patch16-naflex: B/16 towers, 256 position
// embeddings, the 256k Gemma vocabulary, 64 text positions).
func siglip2Preset(name string) Config {
	t, v := textenc.DefaultSigLIPConfig(), vit.DefaultNaFlexConfig()
	t.VocabSize = 256000
	if name == "siglip2-tiny" {
		t.VocabSize, t.HiddenSize, t.IntermediateSize, t.NumHiddenLayers, t.NumAttentionHeads = 1500, 32, 64, 2, 4
		t.ProjectionSize = 48
		v.HiddenSize, v.IntermediateSize, v.NumHiddenLayers, v.NumAttentionHeads = 48, 96, 2, 4
		v.PatchSize, v.NumPatches = 8, 16
	}
	return Config{Family: FamilySigLIP2, Text: t, Vision: v, ProjectionDim: v.HiddenSize}
}

// siglip2Specs lists a Siglip2Model checkpoint's tensors: SiglipModel's,
// with the patch embedding a Linear [width, channels·P·P] and num_patches
// position embeddings.
func siglip2Specs(cfg Config) []Spec {
	s := sigLIPSpecs(cfg)
	v := cfg.Vision
	for i := range s {
		if s[i].Name == "vision_model.embeddings.patch_embedding.weight" {
			s[i].Shape = []int{v.HiddenSize, v.PatchDim()}
		}
	}
	return s
}

// siglip2Files writes a Siglip2Model folder's config.json,
// preprocessor_config.json (Siglip2ImageProcessor at the tower's patch
// size, at most num_patches patches, as google/siglip2-*-naflex) and the
// small spiece.model of WriteSpiece (the real checkpoints carry Gemma's
// tokenizer.json, which is not synthesised).
func siglip2Files(dir string, cfg Config) error {
	cj := sigLIPConfigJSON(cfg)
	cj["architectures"], cj["model_type"] = []string{"Siglip2Model"}, "siglip2"
	tc, vc := cj["text_config"].(map[string]any), cj["vision_config"].(map[string]any)
	tc["model_type"], vc["model_type"] = "siglip2_text_model", "siglip2_vision_model"
	tc["pad_token_id"], tc["eos_token_id"], tc["bos_token_id"] = 0, 1, 2
	delete(vc, "image_size")
	vc["num_patches"] = cfg.Vision.NumPatches
	if err := writeJSON(filepath.Join(dir, "config.json"), cj); err != nil {
		return err
	}
	if err := writeSigLIPTokenizer(dir); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "preprocessor_config.json"), NaFlexPreprocessorJSON(cfg.Vision.PatchSize, cfg.Vision.NumPatches))
}

// NaFlexPreprocessorJSON is a Siglip2ImageProcessor config (bilinear,
// mean and std 0.5).
func NaFlexPreprocessorJSON(patch, maxPatches int) map[string]any {
	return map[string]any{
		"do_convert_rgb": nil, "do_normalize": true, "do_rescale": true, "do_resize": true,
		"image_mean": []float64{0.5, 0.5, 0.5}, "image_std": []float64{0.5, 0.5, 0.5},
		"image_processor_type": "Siglip2ImageProcessor", "processor_class": "Siglip2Processor",
		"max_num_patches": maxPatches, "patch_size": patch,
		"resample": 2, "rescale_factor": pyFloat(0.00392156862745098),
	}
}
