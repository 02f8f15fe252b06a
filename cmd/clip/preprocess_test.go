package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/testref"
)

func readF32Tensors(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, nt := range st.Tensors() {
		tv := nt.TensorView
		if tv.DType() != safetensors.F32 {
			t.Fatalf("%s: %v", nt.Name, tv.DType())
		}
		v := make([]float32, len(tv.Data())/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(tv.Data()[4*i:]))
		}
		out[nt.Name] = v
	}
	return out
}

func TestPreprocessCommand(t *testing.T) {
	imgs := filepath.Join("..", "..", "testdata", "images")
	a, b := filepath.Join(imgs, "coffee_420.jpg"), filepath.Join(imgs, "chelsea_palette_trns.png")
	out := filepath.Join(t.TempDir(), "px.safetensors")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"preprocess", "--size", "64", "--out", out, a, b}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	got := readF32Tensors(t, out)
	p, _ := imageproc.New(imageproc.DefaultConfig(64))
	for _, path := range []string{a, b} {
		want, err := p.File(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[filepath.Base(path)], want) {
			t.Errorf("%s: tensor differs from imageproc's output", filepath.Base(path))
		}
	}
	if len(got) != 2 {
		t.Errorf("%d tensors, want 2", len(got))
	}

	bad := filepath.Join(t.TempDir(), "broken.jpg")
	os.WriteFile(bad, []byte("\xff\xd8\xff\xe0 not really"), 0o644)
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"preprocess", "--size", "64", a}, "--out"},
		{[]string{"preprocess", "--size", "64", "--out", out}, "no image files"},
		{[]string{"preprocess", "--out", out, a}, "--model or --size"},
		{[]string{"preprocess", "--size", "64", "--out", out, a, bad}, "broken.jpg"},
		{[]string{"preprocess", "--size", "64", "--out", out, a, filepath.Join(t.TempDir(), "coffee_420.jpg")}, "same base name"},
		{[]string{"preprocess", "--size", "64", "--max-pixels", "1000", "--out", out, a}, "decompression-bomb"},
		{[]string{"preprocess", "--model", t.TempDir(), "--out", out, a}, "preprocessor_config.json"},
	} {
		err := run(context.Background(), c.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: error %v, want one mentioning %q", c.args, err, c.msg)
		}
	}
}

// With a model folder, the output matches the shared reference's
// CLIPImageProcessor values for its 64 px model.
func TestPreprocessCommandModel(t *testing.T) {
	ref := testref.Dir(t)
	img := filepath.Join(ref, "images", "chelsea.png")
	out := filepath.Join(t.TempDir(), "px.safetensors")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"preprocess", "--model", filepath.Join(ref, "models", "tiny-quickgelu"), "--out", out, img}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	got := readF32Tensors(t, out)["chelsea.png"]
	want := readF32Tensors(t, filepath.Join(ref, "golden", "preprocess.safetensors"))["64/chelsea.png"]
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("chelsea.png at 64 px differs from the reference (%d vs %d values)", len(got), len(want))
	}
}

// TestPreprocessCommandOpenCLIP: an OpenCLIP folder is preprocessed with
// open_clip's transform from its preprocess_cfg (imageproc.NewOpenCLIP,
// bit-exact against open_clip in imageproc's tests), as clip.Load does.
func TestPreprocessCommandOpenCLIP(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"synth", "--preset", "openclip-tiny", "--out", model}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	img := filepath.Join("..", "..", "testdata", "images", "chelsea_small.png")
	out := filepath.Join(dir, "px.safetensors")
	if err := run(context.Background(), []string{"preprocess", "--model", model, "--out", out, img}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	m, err := loadModelT(t, model)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want, err := m.Processor().File(img)
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := imageproc.NewOpenCLIP(&imageproc.OpenCLIPConfig{Size: m.ImageSize()})
	ref, _ := oc.File(img)
	if got := readF32Tensors(t, out)["chelsea_small.png"]; !reflect.DeepEqual(got, want) || !reflect.DeepEqual(got, ref) {
		t.Error("clip preprocess on an OpenCLIP folder differs from the model's processor or open_clip's default transform")
	}
}
