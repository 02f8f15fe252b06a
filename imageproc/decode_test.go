package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestImage(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "images", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// pngHeader returns a PNG signature and IHDR declaring w x h 8-bit RGB,
// with no image data.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	binary.Write(&b, binary.BigEndian, uint32(13))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestDecodeErrors(t *testing.T) {
	jpg := readTestImage(t, "coffee_420.jpg")
	cases := []struct {
		name string
		data []byte
		opts *DecodeOptions
		is   error  // wanted errors.Is target, if any
		msg  string // wanted substring
	}{
		{"empty", nil, nil, ErrEmpty, "empty input"},
		{"text", []byte("hello, this is not an image"), nil, ErrUnsupported, "unsupported image format"},
		{"truncated-jpeg", jpg[:len(jpg)/2], nil, nil, "truncated"},
		{"header-only-jpeg", jpg[:20], nil, nil, "jpeg"},
		{"bomb-png", pngHeader(100_000, 100_000), nil, ErrTooLarge, "100000x100000"},
		{"limit", jpg, &DecodeOptions{MaxPixels: 1000}, ErrTooLarge, "decompression-bomb"},
		{"bytes", jpg, &DecodeOptions{MaxBytes: 100}, ErrTooLarge, "longer than 100 bytes"},
		{"zero-size-png", pngHeader(0, 5), nil, nil, "png"},
	}
	for _, c := range cases {
		o := DecodeOptions{}
		if c.opts != nil {
			o = *c.opts
		}
		o.Name = "photos/" + c.name + ".bin"
		img, err := Decode(bytes.NewReader(c.data), &o)
		if err == nil {
			t.Errorf("%s: decoded %v, want an error", c.name, img.Bounds())
			continue
		}
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: error %T %v is not a *DecodeError", c.name, err, err)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v is not %v", c.name, err, c.is)
		}
		if !strings.Contains(err.Error(), o.Name) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %q should name the file and contain %q", c.name, err, c.msg)
		}
	}
	// A negative limit disables the check.
	if _, err := Decode(bytes.NewReader(jpg), &DecodeOptions{MaxPixels: -1, MaxBytes: -1}); err != nil {
		t.Errorf("no limits: %v", err)
	}
}

// Every test image cut short, or with a run of bytes zeroed, gives an error
// or an image, never a panic, and truncated ones at least fail cleanly.
func TestDecodeTruncatedAndCorrupt(t *testing.T) {
	for _, name := range testImages(t, filepath.Join("..", "testdata", "images")) {
		data := readTestImage(t, name)
		for _, frac := range []int{2, 4, 10} {
			cut := data[:len(data)*(frac-1)/frac]
			if _, err := Decode(bytes.NewReader(cut), &DecodeOptions{Name: name}); err == nil {
				// Some formats (BMP/TIFF strips) may not notice missing
				// trailing bytes at every cut; truncating to half must fail.
				if frac == 2 {
					t.Errorf("%s cut to 1/2: no error", name)
				}
			} else if !strings.Contains(err.Error(), name) {
				t.Errorf("%s: error %q does not name the file", name, err)
			}
		}
		bad := bytes.Clone(data)
		for i := len(bad) / 3; i < len(bad)/3+64 && i < len(bad); i++ {
			bad[i] ^= 0x5a
		}
		Decode(bytes.NewReader(bad), &DecodeOptions{Name: name}) // must not panic
	}
}

func TestDecodeFileMissing(t *testing.T) {
	_, err := DecodeFile(filepath.Join(t.TempDir(), "nope.jpg"), nil)
	if err == nil || !strings.Contains(err.Error(), "nope.jpg") {
		t.Errorf("missing file: %v", err)
	}
}

// The conversions from Go image types drop alpha like Pillow's
// convert("RGB") (straight colour kept), composite like
// Image.alpha_composite, and agree with each other.
func TestSourceOfImageTypes(t *testing.T) {
	r := image.Rect(0, 0, 3, 2)
	want := []uint8{10, 20, 30, 40, 50, 60, 70, 80, 90, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	nrgba := image.NewNRGBA(r)
	for i := 0; i < 6; i++ {
		copy(nrgba.Pix[4*i:], want[3*i:3*i+3])
		nrgba.Pix[4*i+3] = uint8(40 * i) // alpha must not change RGB
	}
	nrgba64 := image.NewNRGBA64(r)
	pal := image.NewPaletted(r, nil)
	for i := 0; i < 6; i++ {
		x, y := i%3, i/3
		c := color.NRGBA{want[3*i], want[3*i+1], want[3*i+2], uint8(40 * i)}
		o := nrgba64.PixOffset(x, y)
		for k, v := range []uint8{c.R, c.G, c.B, c.A} {
			nrgba64.Pix[o+2*k], nrgba64.Pix[o+2*k+1] = v, 0x77 // low bytes dropped
		}
		pal.Palette = append(pal.Palette, c)
		pal.SetColorIndex(x, y, uint8(i))
	}
	for name, img := range map[string]image.Image{"NRGBA": nrgba, "NRGBA64": nrgba64, "Paletted": pal} {
		got := materialize(sourceOf(img)).Pix
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	// 16-bit grey: Pillow's I;16 -> RGB clips at 255.
	g16 := image.NewGray16(image.Rect(0, 0, 3, 1))
	g16.SetGray16(0, 0, color.Gray16{Y: 200})
	g16.SetGray16(1, 0, color.Gray16{Y: 255})
	g16.SetGray16(2, 0, color.Gray16{Y: 256})
	if got := materialize(sourceOf(g16)).Pix; !bytes.Equal(got, []uint8{200, 200, 200, 255, 255, 255, 255, 255, 255}) {
		t.Errorf("Gray16: %v", got)
	}
	// A generic image.Image goes through At.
	var buf bytes.Buffer
	if err := png.Encode(&buf, nrgba); err != nil {
		t.Fatal(err)
	}
	dec, err := Decode(bytes.NewReader(buf.Bytes()), &DecodeOptions{DropAlpha: true})
	if err != nil || !bytes.Equal(dec.Pix, want) {
		t.Errorf("PNG round trip: %v %v", dec, err)
	}
	// By default the same pixels are composited onto white (alpha 0 is
	// white, 255 keeps the colour) and in-memory images agree with files.
	comp, err := Decode(bytes.NewReader(buf.Bytes()), nil)
	if err != nil || !bytes.Equal(comp.Pix[:3], []uint8{255, 255, 255}) {
		t.Fatalf("composite: %v %v", comp, err)
	}
	for name, img := range map[string]image.Image{"NRGBA": nrgba, "NRGBA64": nrgba64, "Paletted": pal} {
		if got := materialize(memorySource(img, nil)).Pix; !bytes.Equal(got, comp.Pix) {
			t.Errorf("%s composited: %v, want %v", name, got, comp.Pix)
		}
	}
	if c := dec.At(1, 0).(color.RGBA); c != (color.RGBA{40, 50, 60, 255}) {
		t.Errorf("At: %v", c)
	}
}
