// Package fakewds makes a small dataset repository shaped like
// CLIP_benchmark's clip-benchmark/wds_imagenetv2 on the Hugging Face Hub,
// for tests, examples and the fake Hub of tools/fakehub:
//
//	classnames.txt                          the 1,000 ImageNet class names
//	zeroshot_classification_templates.txt   the 80 OpenAI templates, "{c}" form
//	test/nshards.txt                        number of shards
//	test/0.tar, test/1.tar, …               keys s0000000, s0000001, … across shards,
//	                                        each an image (.webp/.png/.jpg) and a .cls label
//
// The images are drawn here (PNG: lossless WebP cannot be encoded in pure
// Go, and CLIP_benchmark reads .png as well) and, when a photo folder is
// given, some of the project's test photos (testdata/images, lossless WebP
// among them) with plausible ImageNet labels.
package fakewds

import (
	"archive/tar"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goclip/goclip/clip"
)

// Sample is one image of the dataset as stored in its shard.
type Sample struct {
	Key   string // "s0000000"
	Ext   string // "png", "webp", "jpg"
	Image []byte // encoded file
	Label int    // ImageNet class index
}

// photos are test photos of testdata/images with an ImageNet label.
var photos = []struct {
	file  string
	label int
}{
	{"coffee_lossless.webp", 967},         // espresso
	{"chelsea_small.png", 281},            // tabby cat
	{"rocket_progressive.jpg", 657},       // missile
	{"astronaut_rgba_lossless.webp", 834}, // suit
	{"camera_grey.png", 872},              // tripod
}

// drawings are the synthetic images, each a crude picture of its class.
var drawings = []struct {
	label int
	draw  func(x, y float64) color.RGBA // x, y in [0,1)
}{
	{950, disk(0.5, 0.5, 0.34, rgb(245, 140, 20), rgb(235, 235, 225))},   // orange
	{951, disk(0.5, 0.5, 0.30, rgb(245, 225, 40), rgb(60, 110, 60))},     // lemon
	{852, disk(0.5, 0.5, 0.22, rgb(200, 230, 40), rgb(180, 80, 50))},     // tennis ball
	{975, bands(rgb(130, 180, 240), rgb(40, 80, 160), rgb(60, 140, 60))}, // lakeshore
	{340, stripes},      // zebra
	{980, volcano},      // volcano
	{920, trafficLight}, // traffic light
	{985, daisy},        // daisy
	{971, disk(0.45, 0.55, 0.28, rgb(200, 230, 255), rgb(40, 90, 170))}, // bubble
	{979, valley}, // valley
}

// Options size the dataset; nil means the defaults.
type Options struct {
	// Photos is a folder holding the test photos (testdata/images); empty
	// means synthetic images only.
	Photos string
	// Shards is the number of tar shards; 0 means 2.
	Shards int
	// Size is the side of the synthetic images in pixels; 0 means 96.
	Size int
}

// ImageNetV2 returns the repository's files (path → content) and its
// samples in key order.
func ImageNetV2(opts *Options) (map[string][]byte, []Sample, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Shards <= 0 {
		o.Shards = 2
	}
	if o.Size <= 0 {
		o.Size = 96
	}
	var samples []Sample
	add := func(ext string, data []byte, label int) {
		samples = append(samples, Sample{Key: fmt.Sprintf("s%07d", len(samples)), Ext: ext, Image: data, Label: label})
	}
	// Photos and drawings interleaved, so any shard holds both.
	for i := 0; i < max(len(drawings), len(photos)); i++ {
		if i < len(drawings) {
			b, err := encodePNG(o.Size, drawings[i].draw, int64(i))
			if err != nil {
				return nil, nil, err
			}
			add("png", b, drawings[i].label)
		}
		if o.Photos != "" && i < len(photos) {
			b, err := os.ReadFile(filepath.Join(o.Photos, photos[i].file))
			if err != nil {
				return nil, nil, fmt.Errorf("fakewds: %w", err)
			}
			add(strings.TrimPrefix(filepath.Ext(photos[i].file), "."), b, photos[i].label)
		}
	}

	var tmpl []string
	for _, t := range clip.ImageNetTemplates() {
		tmpl = append(tmpl, strings.ReplaceAll(t, clip.TemplatePlaceholder, "{c}"))
	}
	per := (len(samples) + o.Shards - 1) / o.Shards
	sizes := make([]int, o.Shards)
	for s := range sizes {
		sizes[s] = max(0, min(per, len(samples)-s*per))
	}
	files, err := Layout(samples, sizes, clip.ImageNetClasses(), tmpl)
	if err != nil {
		return nil, nil, err
	}
	return files, samples, nil
}

// Layout returns the files of a WebDataset shaped like
// clip-benchmark/wds_imagenetv2 that holds samples in order:
// test/nshards.txt, test/K.tar with shardSizes[K] samples each (KEY.EXT
// image + KEY.cls label), classnames.txt, and
// zeroshot_classification_templates.txt when templates is not nil.
func Layout(samples []Sample, shardSizes []int, classnames, templates []string) (map[string][]byte, error) {
	files := map[string][]byte{
		"classnames.txt":   []byte(strings.Join(classnames, "\n") + "\n"),
		"test/nshards.txt": []byte(strconv.Itoa(len(shardSizes)) + "\n"),
	}
	if templates != nil {
		files["zeroshot_classification_templates.txt"] = []byte(strings.Join(templates, "\n") + "\n")
	}
	i := 0
	for k, n := range shardSizes {
		if i+n > len(samples) {
			return nil, fmt.Errorf("fakewds: shard sizes exceed the %d samples", len(samples))
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, smp := range samples[i : i+n] {
			for _, m := range []struct {
				name string
				data []byte
			}{{smp.Key + "." + smp.Ext, smp.Image}, {smp.Key + ".cls", []byte(strconv.Itoa(smp.Label))}} {
				if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg}); err != nil {
					return nil, err
				}
				if _, err := tw.Write(m.data); err != nil {
					return nil, err
				}
			}
		}
		if err := tw.Close(); err != nil {
			return nil, err
		}
		files[fmt.Sprintf("test/%d.tar", k)] = buf.Bytes()
		i += n
	}
	if i != len(samples) {
		return nil, fmt.Errorf("fakewds: shard sizes cover %d of %d samples", i, len(samples))
	}
	return files, nil
}

// WriteDir writes repository files under dir, creating folders.
func WriteDir(dir string, files map[string][]byte) error {
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// encodePNG draws a size×size picture with a little deterministic noise
// (so no two images are flat copies) and encodes it.
func encodePNG(size int, f func(x, y float64) color.RGBA, seed int64) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			c := f((float64(x)+0.5)/float64(size), (float64(y)+0.5)/float64(size))
			n := int((uint32(x*7919+y*104729+int(seed)*31337)*2654435761)>>28) - 8 // -8…7
			img.SetRGBA(x, y, color.RGBA{clamp(int(c.R) + n), clamp(int(c.G) + n), clamp(int(c.B) + n), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func clamp(v int) uint8 { return uint8(min(255, max(0, v))) }

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 255} }

func disk(cx, cy, r float64, fg, bg color.RGBA) func(x, y float64) color.RGBA {
	return func(x, y float64) color.RGBA {
		if math.Hypot(x-cx, y-cy) < r {
			return fg
		}
		return bg
	}
}

func bands(top, mid, bottom color.RGBA) func(x, y float64) color.RGBA {
	return func(x, y float64) color.RGBA {
		switch {
		case y < 0.45+0.05*math.Sin(6*x):
			return top
		case y < 0.7:
			return mid
		}
		return bottom
	}
}

func stripes(x, y float64) color.RGBA {
	if math.Sin(40*x+8*math.Sin(5*y)) > 0 {
		return rgb(20, 20, 20)
	}
	return rgb(240, 240, 235)
}

func volcano(x, y float64) color.RGBA {
	h := 0.3 + 1.4*math.Abs(x-0.5) // the cone's edge
	switch {
	case y > h && y < 0.42 && math.Abs(x-0.5) < 0.08:
		return rgb(230, 60, 20) // lava at the top
	case y > h:
		return rgb(100, 70, 50)
	case y < 0.3 && math.Abs(x-0.5-0.3*(0.3-y)) < 0.12*(1.2-y):
		return rgb(120, 120, 120) // smoke
	}
	return rgb(140, 190, 240)
}

func trafficLight(x, y float64) color.RGBA {
	if math.Abs(x-0.5) > 0.18 || y < 0.08 || y > 0.92 {
		return rgb(150, 200, 235)
	}
	for i, c := range []color.RGBA{rgb(230, 30, 30), rgb(240, 200, 30), rgb(40, 200, 70)} {
		if math.Hypot(x-0.5, y-(0.22+0.28*float64(i))) < 0.11 {
			return c
		}
	}
	return rgb(30, 30, 30)
}

func daisy(x, y float64) color.RGBA {
	dx, dy := x-0.5, y-0.5
	r, a := math.Hypot(dx, dy), math.Atan2(dy, dx)
	switch {
	case r < 0.1:
		return rgb(240, 190, 30)
	case r < 0.3+0.08*math.Cos(12*a):
		return rgb(250, 250, 250)
	}
	return rgb(50, 130, 50)
}

func valley(x, y float64) color.RGBA {
	ground := 0.3 + 0.4*(1-2*math.Abs(x-0.5)) // hillsides falling to a floor in the middle
	if y > ground {
		return rgb(70, 150, 60)
	}
	return rgb(150, 200, 245)
}
