// Command soak writes the generated dataset of tools/soak/soak.sh: a
// WebDataset (CLIP_benchmark layout) of N small PNG images in 10 classes,
// of which one in a hundred is corrupt (truncated, garbage, or an empty
// file), in shards of 1,000.
//
//	go run ./tools/soak --n 20000 --out DIR
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"math/rand/v2"

	"github.com/goclip/goclip/internal/fakewds"
)

func main() {
	n := flag.Int("n", 20000, "images")
	out := flag.String("out", "", "output folder")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *out == "" || *n <= 0 {
		log.Fatal("usage: soak --n N --out DIR")
	}
	rng := rand.New(rand.NewPCG(*seed, 2))
	classes := []string{"orange", "lemon", "zebra", "volcano", "daisy", "valley", "bubble", "tripod", "suit", "espresso"}
	samples := make([]fakewds.Sample, *n)
	bad := 0
	for i := range samples {
		label := rng.IntN(len(classes))
		img := image.NewRGBA(image.Rect(0, 0, 48, 40))
		base := color.RGBA{uint8(25 * label), uint8(255 - 20*label), uint8(rng.IntN(256)), 255}
		for p := 0; p < len(img.Pix); p += 4 {
			img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = base.R^uint8(p), base.G, base.B+uint8(p>>6), 255
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			log.Fatal(err)
		}
		data := b.Bytes()
		if rng.IntN(100) == 0 { // 1% corrupt
			bad++
			switch rng.IntN(3) {
			case 0:
				data = data[:len(data)/2]
			case 1:
				for j := 16; j < len(data); j++ {
					data[j] = byte(rng.IntN(256))
				}
			case 2:
				data = nil
			}
		}
		samples[i] = fakewds.Sample{Key: fmt.Sprintf("s%07d", i), Ext: "png", Image: data, Label: label}
	}
	var sizes []int
	for left := *n; left > 0; left -= 1000 {
		sizes = append(sizes, min(left, 1000))
	}
	files, err := fakewds.Layout(samples, sizes, classes, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := fakewds.WriteDir(*out, files); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d images (%d corrupt) in %d shards: %s\n", *n, bad, len(sizes), *out)
}
