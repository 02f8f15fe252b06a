package imageproc

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// photo12MP makes a 4000x3000 test image with smooth gradients and some
// texture (content does not change the cost of the fixed-size filters).
func photo12MP() *RGB {
	const w, h = 4000, 3000
	m := NewRGB(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		row := m.Pix[y*m.Stride:]
		for x := 0; x < w; x++ {
			row[3*x] = uint8(x * 255 / w)
			row[3*x+1] = uint8(y * 255 / h)
			row[3*x+2] = uint8((x*7 + y*13) ^ (x >> 3))
		}
	}
	return m
}

func toYCbCr420(m *RGB) *image.YCbCr {
	b := m.Bounds()
	out := image.NewYCbCr(b, image.YCbCrSubsampleRatio420)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			i := y*m.Stride + 3*x
			yy, cb, cr := rgbToYCbCr(m.Pix[i], m.Pix[i+1], m.Pix[i+2])
			out.Y[out.YOffset(x, y)] = yy
			ci := out.COffset(x, y)
			out.Cb[ci], out.Cr[ci] = cb, cr
		}
	}
	return out
}

func rgbToYCbCr(r, g, b uint8) (uint8, uint8, uint8) {
	R, G, B := float64(r), float64(g), float64(b)
	cl := func(v float64) uint8 { return clamp8(int(v + 0.5)) }
	return cl(0.299*R + 0.587*G + 0.114*B), cl(128 - 0.168736*R - 0.331264*G + 0.5*B), cl(128 + 0.5*R - 0.418688*G - 0.081312*B)
}

// BenchmarkPreprocess12MP_RGB_4000x3000_to_224: Processor.Image on a decoded
// 4000x3000 RGB image (resize + crop + normalise).
func BenchmarkPreprocess12MP_RGB_4000x3000_to_224(b *testing.B) {
	m := photo12MP()
	p, _ := New(nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Image(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreprocess12MP_YCbCr420_4000x3000_to_224: straight from 4:2:0
// JPEG planes (fancy upsampling and colour conversion fused into the
// horizontal pass).
func BenchmarkPreprocess12MP_YCbCr420_4000x3000_to_224(b *testing.B) {
	m := toYCbCr420(photo12MP())
	p, _ := New(nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Image(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFile12MP_JPEG_4000x3000_to_224: decode a 4000x3000 q90 JPEG from
// memory and preprocess it (decoding dominates).
func BenchmarkFile12MP_JPEG_4000x3000_to_224(b *testing.B) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, toYCbCr420(photo12MP()), &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	p, _ := New(nil)
	b.ReportAllocs()
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Reader(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreprocessTypical_RGB_640x427_to_224: a typical web photo.
func BenchmarkPreprocessTypical_RGB_640x427_to_224(b *testing.B) {
	m := NewRGB(image.Rect(0, 0, 640, 427))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 31)
	}
	p, _ := New(nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Image(m); err != nil {
			b.Fatal(err)
		}
	}
}
