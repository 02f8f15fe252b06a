package clip

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/goldentest"
)

// TestOpenCLIPPreprocessCfg: Load gives an OpenCLIP folder open_clip's eval
// transform from its preprocess_cfg (imageproc.NewOpenCLIP, bit-exact
// against open_clip in imageproc's TestOpenCLIPGoldens), not
// CLIPImageProcessor's, and refuses values it does not implement, naming
// the field.
func TestOpenCLIPPreprocessCfg(t *testing.T) {
	g, err := goldentest.Read(filepath.Join("..", "testdata", "golden", "openclip-tiny-quickgelu.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	dir := writeOpenCLIPFolder(t, g)
	var cfg map[string]any
	if err := json.Unmarshal([]byte(g.Meta["open_clip_config"]), &cfg); err != nil {
		t.Fatal(err)
	}
	size := int(cfg["model_cfg"].(map[string]any)["vision_cfg"].(map[string]any)["image_size"].(float64))
	write := func(pre map[string]any) {
		cfg["preprocess_cfg"] = pre
		b, _ := json.Marshal(cfg)
		if err := os.WriteFile(filepath.Join(dir, "open_clip_config.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img := filepath.Join("..", "testdata", "images", "chelsea_small.png")
	for _, pre := range []map[string]any{
		{"mean": []float64{0.5, 0.5, 0.5}, "std": []float64{0.5, 0.5, 0.5}, "interpolation": "bicubic", "resize_mode": "squash"},
		{"interpolation": "bilinear", "resize_mode": "longest", "fill_color": 9},
		{},
	} {
		write(pre)
		m, err := Load(dir, nil)
		if err != nil {
			t.Fatal(pre, err)
		}
		got, err := m.Processor().File(img)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		oc := imageproc.OpenCLIPConfig{Size: size}
		b, _ := json.Marshal(pre)
		var p struct {
			Mean, Std     []float64
			Interpolation string
			ResizeMode    string `json:"resize_mode"`
			FillColor     int    `json:"fill_color"`
		}
		_ = json.Unmarshal(b, &p)
		oc.Mean, oc.Std, oc.Interpolation, oc.ResizeMode, oc.FillColor = p.Mean, p.Std, p.Interpolation, p.ResizeMode, p.FillColor
		proc, err := imageproc.NewOpenCLIP(&oc)
		if err != nil {
			t.Fatal(err)
		}
		want, err := proc.File(img)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("preprocess_cfg %v: the model's processor is not open_clip's transform", pre)
		}
		// CLIPImageProcessor's path differs on this upscaled image: the check above can fail.
		tp, _ := imageproc.New(imageproc.DefaultConfig(size))
		if tv, _ := tp.File(img); len(pre) == 0 && slices.Equal(tv, want) {
			t.Error("CLIPImageProcessor and open_clip agree on chelsea_small.png: the test cannot tell them apart")
		}
	}
	for key, v := range map[string]any{"interpolation": "lanczos", "resize_mode": "crop", "fill_color": 256} {
		write(map[string]any{key: v})
		_, err := Load(dir, nil)
		if err == nil || !strings.Contains(err.Error(), "preprocess_cfg."+key) {
			t.Errorf("preprocess_cfg {%s: %v}: got %v, want an error naming preprocess_cfg.%s", key, v, err, key)
		}
	}
}
