package clip

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/goldentest"
	"github.com/goclip/goclip/synth"
)

// TestSigLIP2ModelGoldens loads SigLIP 2 NaFlex folders (synth's
// Siglip2Model layout with the goldens' recipe weights, the SigLIP 2 Gemma
// tokenizer.json of testdata/sentencepiece/siglip2) through Load and
// holds every output of tools/goldens/siglip2.py to the family bars: the
// patch inputs through EmbedPatches, and for tiny-odd test image files
// and texts end to end (EmbedFiles: decode, Siglip2ImageProcessor,
// tower; EmbedTexts: Gemma tokenizer padded to 64, tower), whose token
// ids must equal Siglip2Processor's.
func TestSigLIP2ModelGoldens(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "golden", "siglip2-tiny*.safetensors"))
	if len(files) < 2 {
		t.Fatalf("found %d SigLIP 2 goldens, want 2", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			g, err := goldentest.Read(f)
			if err != nil {
				t.Fatal(err)
			}
			m := loadSigLIP2Golden(t, g)
			defer m.Close()
			ctx := context.Background()
			ids, err := g.IDs("input_ids")
			if err != nil {
				t.Fatal(err)
			}
			txt, err := m.EmbedTokens(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			img, err := m.EmbedPatches(ctx, goldenPatches(t, g, ""))
			if err != nil {
				t.Fatal(err)
			}
			compareFamilyOutputs(t, m, g, "", img, txt)
			if _, err := m.EmbedPixels(ctx, make([]float32, 3*16*16)); err == nil || !strings.Contains(err.Error(), "EmbedPatches") {
				t.Errorf("EmbedPixels on a NaFlex model: %v", err)
			}
			if g.Has("files/pixel_values") {
				checkSigLIP2Files(t, m, g)
			}
		})
	}
}

// loadSigLIP2Golden writes and loads the golden's model folder.
func loadSigLIP2Golden(t *testing.T, g *goldentest.File) *Model {
	t.Helper()
	cfg, err := ParseConfig([]byte(g.Meta["config"]))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Family != FamilySigLIP2 || !cfg.VisionConfig.NaFlex {
		t.Fatalf("family %q, NaFlex %v", cfg.Family, cfg.VisionConfig.NaFlex)
	}
	seed, _ := strconv.ParseUint(g.Meta["seed"], 10, 64)
	maxPatches, _ := strconv.Atoi(g.Meta["max_num_patches"])
	dir := t.TempDir()
	sc := synth.Config{Family: synth.FamilySigLIP2, Text: cfg.TextConfig, Vision: cfg.VisionConfig, ProjectionDim: cfg.ProjectionDim}
	if err := synth.WriteModel(dir, sc, seed); err != nil {
		t.Fatal(err)
	}
	pj, _ := json.Marshal(synth.NaFlexPreprocessorJSON(cfg.VisionConfig.PatchSize, maxPatches))
	if err := os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), pj, 0o644); err != nil {
		t.Fatal(err)
	}
	// The SigLIP 2 tokenizer (Gemma tokenizer.json) instead of synth's
	// toy spiece.model.
	if err := os.Remove(filepath.Join(dir, "spiece.model")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "sentencepiece", "siglip2", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !m.SigmoidProbs() || m.LogitBias() != -10 || m.ImageSize() != 0 || m.Config().Family != FamilySigLIP2 {
		t.Errorf("SigmoidProbs %v, LogitBias %g, ImageSize %d, family %q", m.SigmoidProbs(), m.LogitBias(), m.ImageSize(), m.Config().Family)
	}
	return m
}

// goldenPatches unpads a golden's <prefix>pixel_values [n, max, k] with
// its spatial_shapes.
func goldenPatches(t *testing.T, g *goldentest.File, prefix string) []imageproc.Patches {
	t.Helper()
	px, shape, err := g.Float32(prefix + "pixel_values")
	if err != nil {
		t.Fatal(err)
	}
	sh, err := g.IDs(prefix + "spatial_shapes")
	if err != nil {
		t.Fatal(err)
	}
	maxLen, k := shape[1], shape[2]
	out := make([]imageproc.Patches, len(sh))
	for i, s := range sh {
		h, w := int(s[0]), int(s[1])
		out[i] = imageproc.Patches{Values: px[i*maxLen*k : (i*maxLen+h*w)*k], Height: h, Width: w}
	}
	return out
}

// checkSigLIP2Files runs the golden's image files and texts end to end.
func checkSigLIP2Files(t *testing.T, m *Model, g *goldentest.File) {
	ctx := context.Background()
	var names, texts []string
	if err := json.Unmarshal([]byte(g.Meta["files"]), &names); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(g.Meta["texts"]), &texts); err != nil {
		t.Fatal(err)
	}
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join("..", "testdata", "images", n)
	}
	// The processor's patches equal Siglip2Processor's bit for bit.
	want := goldenPatches(t, g, "files/")
	for i, p := range paths {
		got, err := m.Processor().PatchesFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if got.Height != want[i].Height || got.Width != want[i].Width {
			t.Fatalf("%s: grid %dx%d, transformers %dx%d", names[i], got.Height, got.Width, want[i].Height, want[i].Width)
		}
		for j, v := range want[i].Values {
			if got.Values[j] != v {
				t.Fatalf("%s: patch value %d = %g, Siglip2Processor %g", names[i], j, got.Values[j], v)
			}
		}
	}
	img, err := m.EmbedFiles(ctx, paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	txt, err := m.EmbedTexts(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := g.IDs("files/input_ids")
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		got, err := m.Tokenize(text)
		if err != nil {
			t.Fatal(err)
		}
		for j, id := range got {
			if ids[i][j] != id {
				t.Fatalf("text %q: ids %v, Siglip2Processor %v", text, got, ids[i])
			}
		}
		for _, id := range ids[i][len(got):] {
			if id != 0 {
				t.Fatalf("text %q: ids %v, Siglip2Processor %v (padding)", text, got, ids[i])
			}
		}
	}
	compareFamilyOutputs(t, m, g, "files/", img, txt)
}

// TestSigLIP2Refusals: malformed SigLIP 2 folders fail at Load with an
// error naming the cause.
func TestSigLIP2Refusals(t *testing.T) {
	sc, err := synth.Preset("siglip2-tiny")
	if err != nil {
		t.Fatal(err)
	}
	write := func(t *testing.T) string {
		dir := t.TempDir()
		if err := synth.WriteModel(dir, sc, 1); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	edit := func(t *testing.T, path string, f func(map[string]any)) {
		var m map[string]any
		b, _ := os.ReadFile(path)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ = json.Marshal(m)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, want string
		f          func(dir string)
	}{
		{"num_patches not square", "num_patches", func(dir string) {
			edit(t, filepath.Join(dir, "config.json"), func(m map[string]any) { m["vision_config"].(map[string]any)["num_patches"] = 15 })
		}},
		{"patch size mismatch", "patch_size", func(dir string) {
			edit(t, filepath.Join(dir, "preprocessor_config.json"), func(m map[string]any) { m["patch_size"] = 16 })
		}},
		{"SigLIP processor", "Siglip2ImageProcessor", func(dir string) {
			edit(t, filepath.Join(dir, "preprocessor_config.json"), func(m map[string]any) {
				m["image_processor_type"] = "SiglipImageProcessor"
				delete(m, "patch_size")
				delete(m, "max_num_patches")
				m["size"] = map[string]int{"height": 64, "width": 64}
				m["resample"] = 3
			})
		}},
		{"position embeddings", "position_embedding", func(dir string) {
			edit(t, filepath.Join(dir, "config.json"), func(m map[string]any) { m["vision_config"].(map[string]any)["num_patches"] = 25 })
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := write(t)
			c.f(dir)
			_, err := Load(dir, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Load: %v, want an error naming %s", err, c.want)
			}
		})
	}
	// A SigLIP (fixed-size) folder with a NaFlex processor is refused too.
	sl, _ := synth.Preset("siglip-tiny")
	dir := t.TempDir()
	if err := synth.WriteModel(dir, sl, 1); err != nil {
		t.Fatal(err)
	}
	pj, _ := json.Marshal(synth.NaFlexPreprocessorJSON(16, 16))
	if err := os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), pj, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, nil); err == nil || !strings.Contains(err.Error(), "siglip2") {
		t.Errorf("SigLIP folder with a Siglip2ImageProcessor: %v", err)
	}
}

// TestEmbedPatchesBadInput: malformed patch grids give errors, not
// panics: overflowing or empty grids, values that do not fill the grid, a
// NaN pixel (naming the image), and EmbedPatches on a non-NaFlex model.
func TestEmbedPatchesBadInput(t *testing.T) {
	sc, _ := synth.Preset("siglip2-tiny")
	dir := t.TempDir()
	if err := synth.WriteModel(dir, sc, 1); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	k := sc.Vision.PatchDim()
	good := imageproc.Patches{Values: make([]float32, 2*3*k), Height: 2, Width: 3}
	nan := imageproc.Patches{Values: make([]float32, k), Height: 1, Width: 1}
	nan.Values[5] = float32(math.NaN())
	for name, ps := range map[string][]imageproc.Patches{
		"overflow":   {good, {Values: nil, Height: 1 << 62, Width: 4}},
		"huge":       {{Values: nil, Height: 1 << 20, Width: 1 << 20}},
		"empty grid": {{Values: nil, Height: 0, Width: 3}},
		"short":      {{Values: make([]float32, k), Height: 2, Width: 1}},
		"nan":        {good, nan},
	} {
		_, err := m.EmbedPatches(context.Background(), ps)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if name == "nan" && !strings.Contains(err.Error(), "image 1") {
			t.Errorf("nan: %v does not name image 1", err)
		}
	}
	if e, err := m.EmbedPatches(context.Background(), nil); err != nil || len(e) != 0 {
		t.Errorf("no images: %v, %d rows", err, len(e))
	}
	sl, _ := synth.Preset("siglip-tiny")
	dir2 := t.TempDir()
	if err := synth.WriteModel(dir2, sl, 1); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(dir2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if _, err := m2.EmbedPatches(context.Background(), []imageproc.Patches{good}); err == nil {
		t.Error("EmbedPatches on a SigLIP (fixed-size) model: no error")
	}
}
