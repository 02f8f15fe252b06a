package imageproc

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/goclip/goclip/internal/testref"
)

// Tolerances. Issue 3 accepts, in 8-bit levels: decoded JPEG within 3
// (mean < 0.3) and lossy WebP within 1 (mean < 0.05) of Pillow; preprocessed
// values within 1 level for lossless inputs and within 3 (99% within 1) for
// JPEG and lossy WebP. This package reproduces every step exactly instead:
// libjpeg-turbo's islow IDCT, fancy upsampling and colour conversion,
// libwebp's upsampler and conversion, ATen's fixed-point resampler and
// transformers' float32 normalisation. So the tests demand exactness; any
// difference is a regression, reported with the statistics above.
const (
	decodeMaxLevels = 0 // decoded RGB vs Pillow, every format
	prepMaxLevels   = 0 // preprocessed values vs transformers (bit-exact float32)
)

func testImages(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(strings.ToUpper(n), "README") || strings.HasPrefix(strings.ToUpper(n), "ATTRIBUTION") {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatalf("no images in %s", dir)
	}
	return names
}

func loadSafetensors(t *testing.T, path string) safetensors.SafeTensors {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return st
}

// readPNGRGB reads a golden RGB PNG as interleaved RGB.
func readPNGRGB(t *testing.T, path string) (pix []uint8, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	m, ok := img.(*image.RGBA)
	if !ok {
		t.Fatalf("%s: golden is %T, want 8-bit RGB", path, img)
	}
	b := m.Bounds()
	pix = make([]uint8, 0, 3*b.Dx()*b.Dy())
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			i := y*m.Stride + 4*x
			pix = append(pix, m.Pix[i], m.Pix[i+1], m.Pix[i+2])
		}
	}
	return pix, b.Dx(), b.Dy()
}

// stats summarises absolute level differences.
type stats struct {
	max    int
	mean   float64
	within float64 // fraction of values within 1 level
}

func (s stats) String() string {
	return fmt.Sprintf("max %d mean %.4f within1 %.4f%%", s.max, s.mean, 100*s.within)
}

func diffBytes(a, b []uint8) stats {
	var s stats
	sum, in1 := 0, 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		s.max = max(s.max, d)
		sum += d
		if d <= 1 {
			in1++
		}
	}
	s.mean = float64(sum) / float64(len(a))
	s.within = float64(in1) / float64(len(a))
	return s
}

// diffLevels compares float outputs in units of 8-bit levels: a difference
// d in normalised units is d * std*255 levels.
func diffLevels(p *Processor, got, want []float32) (stats, float64) {
	var s stats
	plane := len(got) / 3
	sum, in1 := 0.0, 0
	worst := 0.0
	for i := range got {
		d := math.Abs(float64(got[i]-want[i])) * float64(p.std[i/plane]) * float64(p.scale)
		worst = max(worst, d)
		sum += d
		if d <= 1+1e-3 {
			in1++
		}
	}
	s.max = int(math.Round(worst))
	s.mean = sum / float64(len(got))
	s.within = float64(in1) / float64(len(got))
	return s, worst
}

// fromLevels recomputes transformers' output from uint8 levels ([3,S,S]).
func fromLevels(p *Processor, lv []uint8) []float32 {
	out := make([]float32, len(lv))
	plane := len(lv) / 3
	for i, v := range lv {
		c := i / plane
		out[i] = (float32(v) - p.mean[c]) / p.std[c]
	}
	return out
}

func checkDecode(t *testing.T, name string, got *RGB, want []uint8, w, h int) {
	t.Helper()
	if got.Rect.Dx() != w || got.Rect.Dy() != h {
		t.Errorf("%s: decoded %v, Pillow %dx%d", name, got.Rect, w, h)
		return
	}
	s := diffBytes(materialize(got).Pix, want)
	t.Logf("decode     %-30s %s", name, s)
	if s.max > decodeMaxLevels {
		t.Errorf("%s: decode vs Pillow %s, want max %d", name, s, decodeMaxLevels)
	}
}

func checkPrep(t *testing.T, label, name string, p *Processor, got, want []float32) {
	t.Helper()
	s, worst := diffLevels(p, got, want)
	t.Logf("preprocess %-4s %-30s %s (max %.3f)", label, name, s, worst)
	if worst > prepMaxLevels {
		t.Errorf("%s %s: %s (max %.3g levels), want max %d", label, name, s, worst, prepMaxLevels)
	}
}

func hwcToCHW(pix []uint8, s int) []uint8 {
	out := make([]uint8, len(pix))
	for i := 0; i < s*s; i++ {
		for c := 0; c < 3; c++ {
			out[c*s*s+i] = pix[3*i+c]
		}
	}
	return out
}

// TestDecodeGoldens checks Decode against transformers 5's convert_to_rgb
// (decoded/), and, on every image with transparency, DropAlpha against
// Pillow's convert("RGB") (decoded-drop/) and a blue Background against
// Image.alpha_composite over that colour (decoded-bg/).
func TestDecodeGoldens(t *testing.T) {
	dir := filepath.Join("..", "testdata", "images")
	golden := filepath.Join("..", "testdata", "golden")
	nTrans := 0
	for _, name := range testImages(t, dir) {
		for _, v := range []struct {
			dir  string
			opts *DecodeOptions
		}{
			{"decoded", nil},
			{"decoded-drop", &DecodeOptions{DropAlpha: true}},
			{"decoded-bg", &DecodeOptions{Background: color.RGBA{0, 128, 255, 255}}},
		} {
			path := filepath.Join(golden, v.dir, name+".png")
			if _, err := os.Stat(path); err != nil && v.opts != nil {
				continue // only images with transparency have these
			}
			if v.dir == "decoded-drop" {
				nTrans++
			}
			got, err := DecodeFile(filepath.Join(dir, name), v.opts)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			want, w, h := readPNGRGB(t, path)
			checkDecode(t, v.dir+"/"+name, got, want, w, h)
		}
	}
	if nTrans < 7 {
		t.Errorf("only %d images with transparency goldens", nTrans)
	}
}

func TestPreprocessGoldens(t *testing.T) {
	dir := filepath.Join("..", "testdata", "images")
	golden := filepath.Join("..", "testdata", "golden")
	st := loadSafetensors(t, filepath.Join(golden, "preprocess64.safetensors"))
	n224 := 0
	for _, s := range []int{64, 224} {
		p, err := New(DefaultConfig(s))
		if err != nil {
			t.Fatal(err)
		}
		pil := *p
		pil.mode = weightsPillow
		for _, name := range testImages(t, dir) {
			var want, wantPIL []uint8
			if s == 64 {
				tv, ok := st.Tensor("64/" + name)
				tp, ok2 := st.Tensor("pil64/" + name)
				if !ok || !ok2 {
					t.Errorf("%s: no 64 px golden", name)
					continue
				}
				want, wantPIL = tv.Data(), tp.Data()
			} else {
				path := filepath.Join(golden, "preprocess224", name+".png")
				if _, err := os.Stat(path); err != nil {
					continue // 224 goldens exist for a subset
				}
				n224++
				pix, _, _ := readPNGRGB(t, path)
				want = hwcToCHW(pix, s)
			}
			got, err := p.File(filepath.Join(dir, name))
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			checkPrep(t, fmt.Sprint(s), name, p, got, fromLevels(p, want))
			if s == 64 {
				if tv, ok := st.Tensor("drop64/" + name); ok {
					// transformers 4's convert_to_rgb (Image.convert("RGB")).
					drop := p.WithDecodeOptions(&DecodeOptions{DropAlpha: true})
					gotDrop, err := drop.File(filepath.Join(dir, name))
					if err != nil {
						t.Fatal(err)
					}
					checkPrep(t, "drop", name, p, gotDrop, fromLevels(p, tv.Data()))
				}
			}
			if wantPIL != nil {
				// transformers-4 style (Pillow resize): reported, and held to
				// the same bars with Pillow's weights.
				gotPIL, err := pil.File(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				checkPrep(t, "pil"+fmt.Sprint(s), name, p, gotPIL, fromLevels(p, wantPIL))
				s2, _ := diffLevels(p, got, fromLevels(p, wantPIL))
				t.Logf("preprocess %-4s %-30s torch-weights output vs Pillow golden: %s", "x", name, s2)
			}
		}
	}
	if n224 == 0 {
		t.Error("no 224 px goldens found")
	}
}

// TestSharedReference checks against the independent reference data
// (../shared/reference): decoded.safetensors and preprocess.safetensors.
func TestSharedReference(t *testing.T) {
	ref := testref.Dir(t)
	imgDir := filepath.Join(ref, "images")
	dec := loadSafetensors(t, filepath.Join(ref, "golden", "decoded.safetensors"))
	pre := loadSafetensors(t, filepath.Join(ref, "golden", "preprocess.safetensors"))
	nDec, nPre := 0, 0
	for _, name := range testImages(t, imgDir) {
		path := filepath.Join(imgDir, name)
		if tv, ok := dec.Tensor(name); ok {
			nDec++
			sh := tv.Shape()
			if tv.DType() != safetensors.U8 || len(sh) != 3 || sh[2] != 3 {
				t.Fatalf("%s: decoded golden %v %v", name, tv.DType(), sh)
			}
			got, err := DecodeFile(path, nil)
			if err != nil {
				t.Errorf("%s: %v", name, err)
			} else {
				checkDecode(t, name, got, tv.Data(), int(sh[1]), int(sh[0]))
			}
		}
		for _, s := range []int{224, 64} {
			tv, ok := pre.Tensor(fmt.Sprintf("%d/%s", s, name))
			if !ok {
				continue
			}
			nPre++
			want := make([]float32, len(tv.Data())/4)
			for i := range want {
				want[i] = math.Float32frombits(binary.LittleEndian.Uint32(tv.Data()[4*i:]))
			}
			p, err := New(DefaultConfig(s))
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.File(path)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if len(got) != len(want) {
				t.Fatalf("%s: %d values, reference %d", name, len(got), len(want))
			}
			checkPrep(t, fmt.Sprint(s), name, p, got, want)
		}
	}
	if nDec == 0 || nPre == 0 {
		t.Errorf("reference goldens matched no images (decoded %d, preprocess %d)", nDec, nPre)
	}
}
