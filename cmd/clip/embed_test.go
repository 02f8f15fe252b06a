package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/safetensors"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/synth"
)

// tinyModel writes a tiny synthetic model folder with `clip synth`.
func tinyModel(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tiny")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"synth", "--preset", "tiny", "--seed", "3", "--out", dir}, &out, &out); err != nil {
		t.Fatalf("synth: %v\n%s", err, out.String())
	}
	return dir
}

// writePixels writes n [3,S,S] tensors named so that name order differs
// from write order, and returns them in name order.
func writePixels(t *testing.T, path string, n, s int) [][]float32 {
	t.Helper()
	names := []string{"img10", "img02", "img01", "b", "a"}[:n]
	vals := map[string][]float32{}
	for i, name := range names {
		vals[name] = synth.Tensor(name+".weight", []int{3, s, s}, uint64(i))
		for j := range vals[name] {
			vals[name][j] *= 50 // pixel-like range ±1.75
		}
	}
	if err := writeF32(path, vals, []int{3, s, s}); err != nil {
		t.Fatal(err)
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	var out [][]float32
	for _, name := range sorted {
		out = append(out, vals[name])
	}
	return out
}

func TestEmbedPixelValues(t *testing.T) {
	dir := tinyModel(t)
	tmp := t.TempDir()
	px := writePixels(t, filepath.Join(tmp, "px.safetensors"), 3, 64)
	out := filepath.Join(tmp, "emb.safetensors")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"embed", "--model", dir, "--out", out, "--pixel-values", filepath.Join(tmp, "px.safetensors")}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("embed: %v\n%s", err, stderr.String())
	}
	w, err := safetensors.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	got, err := w.Tensor("image_embeds", 3, 24)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Tensor("text_embeds", 0, 24); err != nil {
		t.Fatal(err)
	}
	// Same numbers as the library, in name order.
	m, err := clip.Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for i, p := range px {
		want, err := m.EmbedPixels(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		for j, x := range want[0] {
			if got[i*24+j] != x {
				t.Fatalf("image %d value %d: file %g, library %g", i, j, got[i*24+j], x)
			}
		}
	}
}

func TestEmbedErrors(t *testing.T) {
	dir := tinyModel(t)
	tmp := t.TempDir()
	garbage := filepath.Join(tmp, "garbage.safetensors")
	os.WriteFile(garbage, []byte("\x10\x00\x00\x00\x00\x00\x00\x00{not json at all"), 0o644)
	badTexts := filepath.Join(tmp, "texts.jsonl")
	os.WriteFile(badTexts, []byte("\"ok\"\nnot json\n"), 0o644)
	wrongSize := filepath.Join(tmp, "px32.safetensors")
	writePixels(t, wrongSize, 1, 32)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"embed", "--out", filepath.Join(tmp, "o")}, "nothing to embed"},
		{[]string{"embed", "--model", dir, "--text", "x"}, "--out"},
		{[]string{"embed", "--model", filepath.Join(tmp, "nope"), "--out", filepath.Join(tmp, "o"), "--text", "x"}, "nope"},
		{[]string{"embed", "--model", tmp, "--out", filepath.Join(tmp, "o"), "--text", "x"}, "config.json"},
		{[]string{"embed", "--model", dir, "--out", filepath.Join(tmp, "o"), "--pixel-values", garbage}, "garbage.safetensors"},
		{[]string{"embed", "--model", dir, "--out", filepath.Join(tmp, "o"), "--pixel-values", wrongSize}, "shape"},
		{[]string{"embed", "--model", dir, "--out", filepath.Join(tmp, "o"), "--texts", badTexts}, "texts.jsonl:2"},
		{[]string{"embed", "--model", dir, "--out", filepath.Join(tmp, "o"), filepath.Join(tmp, "missing.png")}, "missing.png"},
		{[]string{"embed", "--model", dir, "--out", filepath.Join(tmp, "o"), badTexts}, "texts.jsonl"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		err := run(context.Background(), c.args, &buf, &buf)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one mentioning %q", c.args, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error is not one line: %q", c.args, err)
		}
	}
}

func TestBench(t *testing.T) {
	dir := tinyModel(t)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"bench", "--model", dir, "--batch", "2", "--duration", "1ms"}, &out, &out); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	s := out.String()
	if !strings.Contains(s, "images/s: ") || !strings.Contains(s, "texts/s: ") {
		t.Errorf("bench output %q lacks the rates", s)
	}
}

// TestPrecisionFlag: --precision reaches the model (bench names it and the
// kernels), and a bad value is a usage error naming the choices.
func TestPrecisionFlag(t *testing.T) {
	dir := tinyModel(t)
	for _, p := range []string{"f32", "bf16", "int8"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"bench", "--model", dir, "--batch", "1", "--duration", "1ms", "--precision", p}, &out, &out); err != nil {
			t.Fatalf("bench --precision %s: %v\n%s", p, err, out.String())
		}
		if !strings.Contains(out.String(), "precision: "+p+"; kernels: f32: ") {
			t.Errorf("bench --precision %s output lacks the precision line:\n%s", p, out.String())
		}
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"embed", "--model", dir, "--precision", "fp4", "x.png"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "want f32, bf16 or int8") {
		t.Fatalf("embed --precision fp4: err = %v, want the choices named", err)
	}
}

// writeF32 writes F32 tensors of one shape to a safetensors file.
func writeF32(path string, vals map[string][]float32, shape []int) error {
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Strings(names)
	hdr := "{"
	off := 0
	for i, n := range names {
		size := 4 * len(vals[n])
		if i > 0 {
			hdr += ","
		}
		hdr += `"` + n + `":{"dtype":"F32","shape":[` + strconv.Itoa(shape[0]) + "," + strconv.Itoa(shape[1]) + "," + strconv.Itoa(shape[2]) + `],"data_offsets":[` + strconv.Itoa(off) + "," + strconv.Itoa(off+size) + "]}"
		off += size
	}
	hdr += "}"
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(hdr)))
	b.WriteString(hdr)
	for _, n := range names {
		for _, x := range vals[n] {
			binary.Write(&b, binary.LittleEndian, math.Float32bits(x))
		}
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func TestEmbedTextsAndImages(t *testing.T) {
	dir := tinyModel(t)
	tmp := t.TempDir()
	texts := filepath.Join(tmp, "texts.jsonl")
	os.WriteFile(texts, []byte("\"a photo of a cat\"\n\n\"caf\\u00e9 \\ud83c\\udf63\"\n"), 0o644)
	img := filepath.Join(tmp, "img.png")
	rgba := image.NewRGBA(image.Rect(0, 0, 90, 70))
	for y := 0; y < 70; y++ {
		for x := 0; x < 90; x++ {
			rgba.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), uint8(x + y), 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, rgba)
	os.WriteFile(img, buf.Bytes(), 0o644)
	out := filepath.Join(tmp, "emb.safetensors")
	var log bytes.Buffer
	if err := run(context.Background(), []string{"embed", "--model", dir, "--out", out, "--texts", texts, img, img}, &log, &log); err != nil {
		t.Fatalf("embed: %v\n%s", err, log.String())
	}
	w, err := safetensors.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	gotImg, err := w.Tensor("image_embeds", 2, 24)
	if err != nil {
		t.Fatal(err)
	}
	gotTxt, err := w.Tensor("text_embeds", 2, 24)
	if err != nil {
		t.Fatal(err)
	}
	m, err := clip.Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want, err := m.EmbedTexts(context.Background(), []string{"a photo of a cat", "caf\u00e9 \U0001F363"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		for j, x := range want[i] {
			if gotTxt[i*24+j] != x {
				t.Fatalf("text %d value %d: file %g, library %g", i, j, gotTxt[i*24+j], x)
			}
		}
	}
	proc, err := imageproc.LoadProcessor(dir)
	if err != nil {
		t.Fatal(err)
	}
	px, err := proc.File(img)
	if err != nil {
		t.Fatal(err)
	}
	wantImg, err := m.EmbedPixels(context.Background(), px)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		for j, x := range wantImg[0] {
			if gotImg[i*24+j] != x {
				t.Fatalf("image %d value %d: file %g, library %g", i, j, gotImg[i*24+j], x)
			}
		}
	}
}
