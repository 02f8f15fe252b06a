package synth_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/goldentest"
	"github.com/goclip/goclip/internal/openclip"
	"github.com/goclip/goclip/synth"
	"github.com/goclip/goclip/tensor"
	"github.com/goclip/goclip/textenc"
	"github.com/goclip/goclip/vit"
)

// TestFamilySpecs: the towers of each preset read exactly the tensors
// Specs lists, with the listed shapes (a name or shape the towers do not
// ask for, or ask for differently, fails); the projections and logit
// scalars, read by clip, are checked by name.
func TestFamilySpecs(t *testing.T) {
	for _, name := range []string{"siglip-tiny", "siglip-b16", "siglip2-tiny", "siglip2-b16-naflex", "openclip-tiny", "openclip-b32"} {
		t.Run(name, func(t *testing.T) {
			if testing.Short() && !strings.HasSuffix(name, "tiny") {
				t.Skip("full-size preset under -short")
			}
			cfg, err := synth.Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			shapes := map[string][]int{}
			for _, s := range synth.Specs(cfg) {
				shapes[s.Name] = s.Shape
			}
			rs := &goldentest.RecipeStore{Fill: func([]float32, string, uint64) {}, Shapes: shapes}
			var st tensor.Store = rs
			if cfg.Family == synth.FamilyOpenCLIP {
				st = &openclip.Store{Base: rs}
			}
			if _, err := vit.New(cfg.Vision, st, "vision_model.", tensor.NewWorkers(0)); err != nil {
				t.Fatal(err)
			}
			if _, err := textenc.New(cfg.Text, st, "text_model.", tensor.NewWorkers(0)); err != nil {
				t.Fatal(err)
			}
			extra := []string{"logit_scale"}
			switch cfg.Family {
			case synth.FamilySigLIP, synth.FamilySigLIP2:
				extra = append(extra, "logit_bias")
			case synth.FamilyOpenCLIP:
				extra = append(extra, "visual.proj", "text_projection")
			}
			for n := range shapes {
				if !slices.Contains(rs.Names, n) && !slices.Contains(extra, n) {
					t.Errorf("%s is in Specs but no tower reads it", n)
				}
			}
		})
	}
}

func TestPresetFiles(t *testing.T) {
	for name, files := range map[string][]string{
		"siglip-tiny":   {"config.json", "preprocessor_config.json", "model.safetensors"},
		"siglip2-tiny":  {"config.json", "preprocessor_config.json", "model.safetensors", "spiece.model"},
		"openclip-tiny": {"open_clip_config.json", "open_clip_model.safetensors"},
	} {
		cfg, err := synth.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := synth.WriteModel(dir, cfg, 1); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if cfg.Family == synth.FamilyOpenCLIP {
			b, _ := os.ReadFile(filepath.Join(dir, "open_clip_config.json"))
			oc, err := openclip.ParseConfig(b)
			if err != nil {
				t.Fatal(err)
			}
			if oc.Vision.IntermediateSize != cfg.Vision.IntermediateSize || oc.Text.Pooling != "argmax" || oc.Vision.HiddenAct != "gelu" {
				t.Errorf("open_clip_config.json round trip: %+v", oc.Vision)
			}
		}
	}
	if _, err := synth.Preset("nope"); err == nil {
		t.Error("unknown preset accepted")
	}
}
