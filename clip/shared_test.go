package clip

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/goclip/goclip/internal/testref"
	"github.com/goclip/goclip/synth"
)

// TestSharedTiny is the independent check against transformers outputs in
// ../shared/reference for the two tiny models (folders and weights there).
func TestSharedTiny(t *testing.T) {
	ref := testref.Dir(t)
	for _, name := range []string{"tiny-quickgelu", "tiny-gelu"} {
		t.Run(name, func(t *testing.T) {
			m := loadOrFatal(t, filepath.Join(ref, "models", name))
			g := readGolden(t, filepath.Join(ref, "golden", name+".safetensors"))
			checkGolden(t, m, g, nil, name)
		})
	}
}

// TestSharedB32 regenerates the full-size ViT-B/32 synthetic checkpoint in
// Go and compares with transformers' outputs on it: 8 preprocessed images,
// 32 texts (two truncated at 77 tokens), hidden states of the first image
// and text.
func TestSharedB32(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size ViT-B/32 (605 MB of weights); skipped with -short")
	}
	ref := testref.Dir(t)
	g := readGolden(t, filepath.Join(ref, "golden", "b32-synthetic.safetensors"))
	cfg, err := LoadConfig(filepath.Join(ref, "models", "b32-synthetic", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sc := synth.Config{Text: cfg.TextConfig, Vision: cfg.VisionConfig, ProjectionDim: cfg.ProjectionDim}
	if err := synth.WriteModel(dir, sc, 0); err != nil {
		t.Fatal(err)
	}
	// The reference config (2021 layout) is the one under test.
	raw, err := os.ReadFile(filepath.Join(ref, "models", "b32-synthetic", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	m := loadOrFatal(t, dir)
	var images []string
	if err := json.Unmarshal([]byte(g.meta["images"]), &images); err != nil {
		t.Fatal(err)
	}
	pre := readGolden(t, filepath.Join(ref, "golden", "preprocess.safetensors"))
	var pixels []float32
	for _, name := range images {
		px, _ := pre.f32(t, "224/"+name)
		pixels = append(pixels, px...)
	}
	checkGolden(t, m, g, pixels, "b32-synthetic")
}
