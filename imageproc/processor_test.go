package imageproc

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/goclip/goclip/internal/testref"
)

func TestParseConfigLayouts(t *testing.T) {
	// openai/clip-vit-base-patch32's 2021 file.
	old := `{"crop_size": 224, "do_center_crop": true, "do_normalize": true, "do_resize": true,
	  "feature_extractor_type": "CLIPFeatureExtractor",
	  "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
	  "resample": 3, "size": 224}`
	newer := `{"crop_size": {"height": 224, "width": 224}, "do_center_crop": true, "do_convert_rgb": true,
	  "do_normalize": true, "do_rescale": true, "do_resize": true,
	  "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "CLIPImageProcessor",
	  "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3,
	  "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 224}}`
	want := DefaultConfig(224)
	for name, js := range map[string]string{"2021": old, "newer": newer, "empty": "{}"} {
		c, err := ParseConfig([]byte(js))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("%s: %+v, want %+v", name, c, want)
		}
	}
	c, err := ParseConfig([]byte(`{"size": 336, "crop_size": 336, "image_mean": 0.5, "image_std": 0.5}`))
	if err != nil || c.Size.ShortestEdge != 336 || c.CropSize != (Size{Height: 336, Width: 336}) ||
		!reflect.DeepEqual(c.ImageMean, []float64{0.5, 0.5, 0.5}) {
		t.Errorf("336 with scalar mean: %+v %v", c, err)
	}
	for _, bad := range []string{
		`{"resample": 2}`,
		`{"size": {"shortest_edge": 224, "longest_edge": 400}}`,
		`{"crop_size": {"height": 224, "width": 200}}`,
		`{"size": {"shortest_edge": 224}, "do_center_crop": false}`,
		`{"image_std": [0.5, 0, 0.5]}`,
		`{"image_mean": [0.5]}`,
		`{"size": {"shortest": 3}}`,
		`{"size": "big"}`,
		`[1, 2]`,
		`{"size": 100000}`,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		} else {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("%s: %T is not a *ConfigError", bad, err)
			}
		}
	}
}

func TestLoadProcessor(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadProcessor(dir); err == nil {
		t.Error("empty folder: no error")
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"vision_config": {"image_size": 336}}`), 0o644)
	p, err := LoadProcessor(dir)
	if err != nil || p.Size() != 336 {
		t.Fatalf("config.json fallback: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), []byte(`{"size": 96, "crop_size": 96}`), 0o644)
	if p, err = LoadProcessor(dir); err != nil || p.Size() != 96 {
		t.Fatalf("preprocessor_config.json: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), []byte(`{"resample": 0}`), 0o644)
	if _, err = LoadProcessor(dir); err == nil || !strings.Contains(err.Error(), "preprocessor_config.json") {
		t.Errorf("bad config: %v", err)
	}
	ref := testref.Dir(t)
	for model, size := range map[string]int{"tiny-quickgelu": 64, "tiny-gelu": 64, "b32-synthetic": 224} {
		p, err := LoadProcessor(filepath.Join(ref, "models", model))
		if err != nil || p.Size() != size {
			t.Errorf("%s: %v, size %v", model, err, p)
		}
	}
}

// Configurations other than the default (padding crop, exact-size resize,
// no crop, no resize, rescale only, custom mean/std) against transformers.
func TestConfigGoldens(t *testing.T) {
	path := filepath.Join("..", "testdata", "golden", "preprocess64.safetensors")
	st := loadSafetensors(t, path)
	data, _ := os.ReadFile(path)
	_, md, err := safetensors.ReadMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	var cfgs map[string]json.RawMessage
	if err := json.Unmarshal([]byte(md.Metadata()["configs"]), &cfgs); err != nil || len(cfgs) == 0 {
		t.Fatalf("golden metadata has no configs: %v", err)
	}
	for id, raw := range cfgs {
		cfg, err := ParseConfig(raw)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		p, err := New(cfg)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		for _, name := range []string{"chelsea_small.png", "coffee_lossless.webp", "rocket.bmp"} {
			tv, ok := st.Tensor("cfg/" + id + "/" + name)
			if !ok {
				t.Fatalf("no golden cfg/%s/%s", id, name)
			}
			want := f32s(tv.Data())
			got, err := p.File(filepath.Join("..", "testdata", "images", name))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s %s: %d values, want %d", id, name, len(got), len(want))
			}
			// Lossless inputs and an exact resampler: bit-exact float32 expected.
			worst := 0.0
			for i := range got {
				worst = max(worst, math.Abs(float64(got[i]-want[i])))
			}
			t.Logf("config %-20s %-22s max |diff| %g", id, name, worst)
			if worst != 0 {
				t.Errorf("%s %s: max |diff| %g, want 0", id, name, worst)
			}
		}
	}
}

func TestFiles(t *testing.T) {
	dir := filepath.Join("..", "testdata", "images")
	names := testImages(t, dir)
	var paths []string
	for _, n := range names {
		paths = append(paths, filepath.Join(dir, n))
	}
	p, err := New(DefaultConfig(32))
	if err != nil {
		t.Fatal(err)
	}
	batch, err := p.Files(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	n := 3 * 32 * 32
	if len(batch) != len(paths)*n {
		t.Fatalf("batch has %d values, want %d", len(batch), len(paths)*n)
	}
	for i, path := range paths {
		one, err := p.File(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(one, batch[i*n:(i+1)*n]) {
			t.Errorf("%s: batch entry differs from File", path)
		}
	}
	bad := append(append([]string{}, paths[:3]...), filepath.Join(t.TempDir(), "missing.png"))
	if _, err := p.Files(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "missing.png") {
		t.Errorf("missing file in batch: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Files(ctx, paths); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestImageMatchesReader(t *testing.T) {
	p, _ := New(nil)
	img, err := DecodeFile(filepath.Join("..", "testdata", "images", "coffee_420.jpg"), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := p.Image(img)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(filepath.Join("..", "testdata", "images", "coffee_420.jpg"))
	defer f.Close()
	b, err := p.Reader(f)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("Image(Decode(f)) differs from Reader(f)")
	}
	if _, err := p.Image(NewRGB(image0())); err == nil {
		t.Error("empty image accepted")
	}
}

func image0() (r image.Rectangle) { return }

func f32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
	}
	return out
}
