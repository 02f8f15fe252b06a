package vit_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/goclip/goclip/internal/goldentest"
	"github.com/goclip/goclip/synth"
	"github.com/goclip/goclip/tensor"
	"github.com/goclip/goclip/vit"
)

// TestNaFlexGoldens runs the SigLIP 2 NaFlex vision tower on the goldens
// of tools/goldens/siglip2.py (Siglip2Model: images of several patch
// grids, most padded to max_num_patches) and holds the image embeddings
// to the SigLIP bars (checkOutput) and every layer's hidden states of the
// valid (unpadded) tokens to hiddenRel.
func TestNaFlexGoldens(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "golden", "siglip2-tiny*.safetensors"))
	if len(files) < 2 {
		t.Fatalf("found %d SigLIP 2 goldens, want 2", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { checkNaFlexVision(t, f) })
	}
}

// NaFlexInputs unpads a golden's pixel_values [n, max, k] into packed
// patches and shapes.
func naflexInputs(t *testing.T, g *goldentest.File, prefix string) ([]float32, []vit.Shape, int) {
	t.Helper()
	px, shape, err := g.Float32(prefix + "pixel_values")
	if err != nil {
		t.Fatal(err)
	}
	sh, err := g.IDs(prefix + "spatial_shapes")
	if err != nil {
		t.Fatal(err)
	}
	n, maxLen, k := shape[0], shape[1], shape[2]
	var packed []float32
	shapes := make([]vit.Shape, n)
	for i, s := range sh {
		shapes[i] = vit.Shape{Height: int(s[0]), Width: int(s[1])}
		packed = append(packed, px[i*maxLen*k:(i*maxLen+shapes[i].Patches())*k]...)
	}
	return packed, shapes, maxLen
}

func checkNaFlexVision(t *testing.T, path string) {
	g, err := goldentest.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := vit.DefaultNaFlexConfig()
	st, err := g.Tower("vision_config", &cfg, synth.Fill)
	if err != nil {
		t.Fatal(err)
	}
	m, err := vit.New(cfg, st, "vision_model.", tensor.NewWorkers(0))
	if err != nil {
		t.Fatal(err)
	}
	px, shapes, maxLen := naflexInputs(t, g, "")
	padded := 0
	for _, s := range shapes {
		if s.Patches() < maxLen {
			padded++
		}
	}
	if padded == 0 || padded == len(shapes) {
		t.Fatalf("%d of %d images padded: the golden must have padded and full images", padded, len(shapes))
	}
	n, w := len(shapes), cfg.HiddenSize
	hiddenWant, hshape, err := g.Float("f64_vision_hidden") // [layers+1, n, max, width]
	if err != nil {
		t.Fatal(err)
	}
	layerMax := make([]float64, hshape[0])
	hiddenErr := make([]float64, hshape[0])
	for l := range layerMax {
		for i, s := range shapes {
			for _, v := range hiddenWant[((l*n+i)*maxLen)*w:][:s.Patches()*w] {
				layerMax[l] = max(layerMax[l], abs(v))
			}
		}
	}
	calls := 0
	opts := &vit.ForwardOptions{Hidden: func(index, image int, h []float32) {
		calls++
		want := hiddenWant[((index*n+image)*maxLen)*w:][:shapes[image].Patches()*w]
		if len(h) != len(want) {
			t.Fatalf("hidden %d image %d: %d values, want %d", index, image, len(h), len(want))
		}
		hiddenErr[index] = max(hiddenErr[index], goldentest.MaxAbsDiff(h, want))
	}}
	for _, o := range []*vit.ForwardOptions{nil, opts} {
		got, err := m.ForwardPatches(context.Background(), px, shapes, o)
		if err != nil {
			t.Fatal(err)
		}
		checkOutput(t, g, "image_embeds", got)
	}
	if calls != hshape[0]*n {
		t.Fatalf("Hidden called %d times, want %d", calls, hshape[0]*n)
	}
	for l, e := range hiddenErr {
		t.Logf("hidden state %d: max error %.3g (%.2g of the layer's max %.3g)", l, e, e/layerMax[l], layerMax[l])
		if e > hiddenRel*layerMax[l] {
			t.Errorf("hidden state %d (0 = embeddings, l = after encoder layer l): max error %.3g > %.3g (%g of max %.3g)",
				l, e, hiddenRel*layerMax[l], hiddenRel, layerMax[l])
		}
	}
	// One image alone gives the same embedding as in the batch: no
	// padding or neighbour leaks in.
	one, err := m.ForwardPatches(context.Background(), px[:shapes[0].Patches()*cfg.PatchDim()], shapes[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := m.ForwardPatches(context.Background(), px, shapes, nil)
	for j := range one {
		if one[j] != all[j] {
			t.Fatalf("image 0 alone differs from image 0 in the batch at %d: %g vs %g", j, one[j], all[j])
		}
	}
}
