// Command genimages writes a folder of small deterministic test images
// for the index and load tests (no network, no datasets needed):
//
//	go run ./tools/genimages --n 10000 --out /tmp/imgs [--size 64] [--seed 1]
//
// Image i is a JPEG (every other one a PNG) of size×size pixels with a
// colour gradient and a few rectangles drawn from seed and i, in
// sub-folders of 1,000 (0000/, 0001/, …). Rerunning with the same flags
// writes the same bytes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
)

func main() {
	n := flag.Int("n", 1000, "number of images")
	out := flag.String("out", "", "output folder")
	size := flag.Int("size", 64, "side in pixels")
	seed := flag.Uint64("seed", 1, "seed")
	flag.Parse()
	if *out == "" || *n <= 0 || *size <= 0 || *size > 4096 {
		fmt.Fprintln(os.Stderr, "usage: genimages --n N --out DIR [--size 64] [--seed 1]")
		os.Exit(2)
	}
	for i := range *n {
		data, ext := Image(i, *size, *seed)
		dir := filepath.Join(*out, fmt.Sprintf("%04d", i/1000))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("img%06d.%s", i, ext)), data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// Image returns the encoded bytes and extension of image i.
func Image(i, size int, seed uint64) ([]byte, string) {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	im := image.NewRGBA(image.Rect(0, 0, size, size))
	c0 := [3]int{r.IntN(256), r.IntN(256), r.IntN(256)}
	c1 := [3]int{r.IntN(256), r.IntN(256), r.IntN(256)}
	for y := range size {
		for x := range size {
			t := (x + y) * 255 / (2 * size)
			im.Set(x, y, color.RGBA{uint8((c0[0]*(255-t) + c1[0]*t) / 255), uint8((c0[1]*(255-t) + c1[1]*t) / 255), uint8((c0[2]*(255-t) + c1[2]*t) / 255), 255})
		}
	}
	for range 3 {
		x0, y0 := r.IntN(size), r.IntN(size)
		w, h := 1+r.IntN(size/2+1), 1+r.IntN(size/2+1)
		c := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
		for y := y0; y < min(size, y0+h); y++ {
			for x := x0; x < min(size, x0+w); x++ {
				im.Set(x, y, c)
			}
		}
	}
	var b bytes.Buffer
	if i%2 == 1 {
		png.Encode(&b, im)
		return b.Bytes(), "png"
	}
	jpeg.Encode(&b, im, &jpeg.Options{Quality: 90})
	return b.Bytes(), "jpg"
}
