package imageproc

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/goldentest"
)

// TestNaFlexGoldens checks Siglip2ImageProcessor (tools/goldens/siglip2.py:
// torchvision backend, images decoded with Pillow's convert("RGB")) bit
// for bit: the patch grid (get_image_size_for_max_num_patches) and every
// value of every patch, for the checkpoint's defaults (patch 16, at most
// 256 patches) and two smaller settings, on images that are shrunk and
// enlarged. The golden stores the 8-bit levels; the generator asserts
// that the float32 pixel_values are (float32(level) − 127.5) / 127.5,
// which is how the processor's value is derived here too.
func TestNaFlexGoldens(t *testing.T) {
	g, err := goldentest.Read(filepath.Join("..", "testdata", "golden", "siglip2-preprocess.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, key := range g.Names() {
		if strings.HasSuffix(key, "/shape") {
			continue
		}
		setting, name, _ := strings.Cut(key, "/")
		var patch, maxPatches int
		if _, err := fmt.Sscanf(setting, "%dx%d", &patch, &maxPatches); err != nil {
			t.Fatal(key, err)
		}
		cfg, err := ParseConfig([]byte(fmt.Sprintf(`{"image_processor_type": "Siglip2ImageProcessor",
			"patch_size": %d, "max_num_patches": %d}`, patch, maxPatches)))
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p = p.WithDecodeOptions(&DecodeOptions{DropAlpha: true})
		want, _, err := g.Bytes(key)
		if err != nil {
			t.Fatal(err)
		}
		shape, err := g.Ints(key + "/shape")
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.PatchesFile(filepath.Join("..", "testdata", "images", name))
		if err != nil {
			t.Fatal(err)
		}
		if got.Height != shape[0] || got.Width != shape[1] {
			t.Errorf("%s: patch grid %dx%d, transformers %dx%d", key, got.Height, got.Width, shape[0], shape[1])
			continue
		}
		if len(got.Values) != len(want) {
			t.Fatalf("%s: %d values, want %d", key, len(got.Values), len(want))
		}
		diff := 0
		for i, lv := range want {
			if got.Values[i] != (float32(lv)-127.5)/127.5 {
				diff++
			}
		}
		t.Logf("%s: %dx%d patches, %d of %d values differ", key, got.Height, got.Width, diff, len(want))
		if diff > 0 {
			t.Errorf("%s: %d of %d values differ from Siglip2ImageProcessor (want bit-exact)", key, diff, len(want))
		}
		n++
	}
	if n < 10 {
		t.Fatalf("checked %d images, want at least 10", n)
	}
}

// TestNaFlexSize checks get_image_size_for_max_num_patches' properties on
// a grid of sizes: multiples of the patch, at least one patch, within the
// budget (unless one patch per side already exceeds it), and exact
// against values transformers computed.
func TestNaFlexSize(t *testing.T) {
	for _, c := range []struct{ h, w, patch, max, th, tw int }{
		// transformers 5.24's get_image_size_for_max_num_patches(h, w,
		// patch, max) (the scale search stops at 100: a 1×1 image gets 7×7
		// patches, not 16×16).
		{172, 258, 16, 256, 208, 304}, {1, 1, 16, 256, 112, 112}, {1, 5000, 16, 256, 16, 4096},
		{5000, 3, 14, 729, 10206, 14}, {224, 224, 16, 256, 256, 256}, {480, 640, 16, 1024, 432, 576},
		{27, 40, 8, 30, 40, 48}, {300, 7, 16, 64, 688, 16}, {1000, 1000, 16, 1, 16, 16},
	} {
		th, tw := NaFlexSize(c.h, c.w, c.patch, c.max)
		if th != c.th || tw != c.tw {
			t.Errorf("NaFlexSize(%d, %d, %d, %d) = %d, %d; transformers %d, %d", c.h, c.w, c.patch, c.max, th, tw, c.th, c.tw)
		}
	}
	for h := 1; h < 3000; h += 97 {
		for w := 1; w < 3000; w += 89 {
			for _, pm := range [][2]int{{16, 256}, {14, 729}, {8, 30}, {16, 1}} {
				th, tw := NaFlexSize(h, w, pm[0], pm[1])
				if th%pm[0] != 0 || tw%pm[0] != 0 || th < pm[0] || tw < pm[0] {
					t.Fatalf("%dx%d: %dx%d not whole patches of %d", h, w, th, tw, pm[0])
				}
				if n := (th / pm[0]) * (tw / pm[0]); n > pm[1] && th > pm[0] && tw > pm[0] {
					t.Fatalf("%dx%d patch %d: %d patches > %d", h, w, pm[0], n, pm[1])
				}
			}
		}
	}
}

// TestNaFlexRefusals: the fixed-size methods refuse a NaFlex processor
// and the Patches methods a CLIP one; bad NaFlex fields name themselves.
func TestNaFlexRefusals(t *testing.T) {
	p, err := New(DefaultNaFlexConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.File(filepath.Join("..", "testdata", "images", "rocket.bmp")); err == nil || !strings.Contains(err.Error(), "Patches") {
		t.Errorf("File on a NaFlex processor: %v", err)
	}
	c, _ := New(nil)
	if _, err := c.PatchesFile(filepath.Join("..", "testdata", "images", "rocket.bmp")); err == nil {
		t.Error("PatchesFile on a CLIP processor: no error")
	}
	for field, js := range map[string]string{
		"patch_size":      `{"image_processor_type": "Siglip2ImageProcessor", "patch_size": 0}`,
		"max_num_patches": `{"image_processor_type": "Siglip2ImageProcessor", "max_num_patches": 1000000}`,
		"resample":        `{"image_processor_type": "Siglip2ImageProcessor", "resample": 0}`,
		"do_resize":       `{"image_processor_type": "Siglip2ImageProcessor", "do_resize": false}`,
	} {
		_, err := ParseConfig([]byte(js))
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: error %v does not name the field", js, err)
		}
	}
	if _, err := ParseConfig([]byte(`{"patch_size": 16}`)); err == nil {
		t.Error("patch_size in a CLIP config accepted")
	}
}
