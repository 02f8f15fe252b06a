package imageproc

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nlpodyssey/safetensors"
)

// TestOpenCLIPGoldens checks NewOpenCLIP against open_clip's eval transform
// (tools/goldens/openclip_preprocess.py: image_transform_v2 on
// Image.open(f), open_clip 3.3, torchvision 0.29, Pillow 13) for every
// configuration there: resize modes shortest, longest (with a fill colour)
// and squash, bicubic and bilinear, on every test image for the default
// configuration and on a subset of all modes (RGB, L, 1, P, RGBA, LA,
// CMYK, I;16) for the others. Bit-exact float32 values are required: the
// stored levels determine open_clip's float32 output exactly (the script
// asserts it), and the first image of each small configuration is also
// compared with torch's own float32 output.
func TestOpenCLIPGoldens(t *testing.T) {
	path := filepath.Join("..", "testdata", "golden", "preprocess-openclip.safetensors")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, md, err := safetensors.ReadMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	var cfgs map[string]struct {
		Cfg struct {
			Size          int       `json:"size"`
			Mean          []float64 `json:"mean"`
			Std           []float64 `json:"std"`
			Interpolation string    `json:"interpolation"`
			ResizeMode    string    `json:"resize_mode"`
			FillColor     int       `json:"fill_color"`
		} `json:"cfg"`
		Images []string `json:"images"`
	}
	if err := json.Unmarshal([]byte(md.Metadata()["configs"]), &cfgs); err != nil || len(cfgs) < 7 {
		t.Fatalf("configs metadata: %v (%d configs, want 7)", err, len(cfgs))
	}
	st := loadSafetensors(t, path)
	checked := 0
	for id, c := range cfgs {
		p, err := NewOpenCLIP(&OpenCLIPConfig{Size: c.Cfg.Size, Mean: c.Cfg.Mean, Std: c.Cfg.Std,
			Interpolation: c.Cfg.Interpolation, ResizeMode: c.Cfg.ResizeMode, FillColor: c.Cfg.FillColor})
		if err != nil {
			t.Fatal(id, err)
		}
		for _, name := range c.Images {
			got, err := p.File(filepath.Join("..", "testdata", "images", name))
			if err != nil {
				t.Fatal(id, name, err)
			}
			tv, ok := st.Tensor("lv/" + id + "/" + name)
			if !ok {
				t.Fatal("no golden for", id, name)
			}
			lv := tv.Data()
			want := make([]float32, len(lv))
			plane := len(lv) / 3
			for i, v := range lv {
				want[i] = (float32(v)/255 - float32(c.Cfg.Mean[i/plane])) / float32(c.Cfg.Std[i/plane])
			}
			if tp, ok := st.Tensor("px/" + id + "/" + name); ok {
				b := tp.Data()
				for i := range want {
					if f := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])); f != want[i] {
						t.Fatalf("%s %s: level formula gives %g at %d, torch %g", id, name, want[i], i, f)
					}
				}
			}
			checked++
			diff, worst := 0, 0.0
			for i := range want {
				if got[i] != want[i] {
					diff++
					std := c.Cfg.Std[i/plane]
					worst = math.Max(worst, math.Abs(float64(got[i]-want[i]))*std*255)
				}
			}
			if diff > 0 {
				t.Errorf("%s %s: %d of %d values differ from open_clip (max %.1f levels); want bit-exact",
					id, name, diff, len(want), worst)
			}
		}
	}
	t.Logf("%d image x configuration pairs bit-exact against open_clip", checked)
}

// TestOpenCLIPConfigRefused: values open_clip does not accept are refused,
// naming the field.
func TestOpenCLIPConfigRefused(t *testing.T) {
	for field, c := range map[string]*OpenCLIPConfig{
		"size":          {Size: 0},
		"interpolation": {Size: 8, Interpolation: "lanczos"},
		"resize_mode":   {Size: 8, ResizeMode: "crop"},
		"fill_color":    {Size: 8, FillColor: -1},
		"mean":          {Size: 8, Mean: []float64{0.5}},
		"std":           {Size: 8, Std: []float64{0.5, 0, 0.5}},
	} {
		_, err := NewOpenCLIP(c)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != field {
			t.Errorf("%+v: got %v, want a ConfigError naming %s", c, err, field)
		}
	}
	if _, err := NewOpenCLIP(nil); err == nil {
		t.Error("nil config accepted")
	}
}

// TestOpenCLIPDecodeOptions: alpha is dropped whatever the decode options
// say (open_clip's convert("RGB")), and an in-memory image gives what its
// file gives.
func TestOpenCLIPDecodeOptions(t *testing.T) {
	p, err := NewOpenCLIP(&OpenCLIPConfig{Size: 40})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "testdata", "images", "astronaut_rgba.png")
	want, err := p.File(path)
	if err != nil {
		t.Fatal(err)
	}
	q := p.WithDecodeOptions(&DecodeOptions{Background: color.Black})
	got, err := q.File(path)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("WithDecodeOptions changed the alpha handling (err %v)", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err = p.Image(img)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Image(%T) differs from File (err %v)", img, err)
	}
}
