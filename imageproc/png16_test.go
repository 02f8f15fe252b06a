package imageproc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/goclip/goclip/internal/heaptest"
)

// png16 writes a 16-bit PNG of colour type ct (0, 2, 4 or 6) by hand, so
// that every filter type and IDAT split is exercised (image/png's encoder
// never writes grey+alpha and picks its own filters): row y uses filter
// filt(y), the zlib stream is cut into IDAT chunks of idat bytes, and
// extra chunks go before the IDATs.
func png16(ct, w, h int, rng *rand.Rand, filt func(y int) byte, idat int, extra ...[]byte) []byte {
	ch := map[int]int{0: 1, 2: 3, 4: 2, 6: 4}[ct]
	bpp := 2 * ch
	raw := make([]byte, h*(1+bpp*w))
	prev := make([]byte, bpp*w)
	for y := range h {
		cur := make([]byte, bpp*w)
		for i := range cur {
			cur[i] = uint8(rng.Uint32())
			if rng.IntN(4) == 0 { // runs of equal bytes, and extreme alphas
				cur[i] = []byte{0, 255}[rng.IntN(2)]
			}
		}
		f := filt(y)
		row := raw[y*(1+bpp*w):]
		row[0] = f
		for i := range cur { // forward filter
			var a, b, c byte
			if i >= bpp {
				a, c = cur[i-bpp], prev[i-bpp]
			}
			b = prev[i]
			pred := [5]byte{0, a, b, uint8((int(a) + int(b)) / 2), paeth(a, b, c)}[f]
			row[1+i] = cur[i] - pred
		}
		prev = cur
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	out := append([]byte(nil), pngSig...)
	hdr := make([]byte, 13)
	binary.BigEndian.PutUint32(hdr[0:], uint32(w))
	binary.BigEndian.PutUint32(hdr[4:], uint32(h))
	hdr[8], hdr[9] = 16, byte(ct)
	out = chunk(out, "IHDR", hdr)
	for _, e := range extra {
		out = append(out, e...)
	}
	for b := z.Bytes(); len(b) > 0; {
		n := min(idat, len(b))
		out = chunk(out, "IDAT", b[:n])
		b = b[n:]
	}
	return chunk(out, "IEND", nil)
}

func chunk(out []byte, typ string, body []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	start := len(out)
	out = append(append(out, typ...), body...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}

// bothWays decodes data through every entry point with decodePNG16 and
// with image/png (wholePNG16) and requires the same pixels, or the same
// error text.
func bothWays(t *testing.T, name string, data []byte) {
	t.Helper()
	oc, err := NewOpenCLIP(&OpenCLIPConfig{Size: 24})
	if err != nil {
		t.Fatal(err)
	}
	hf, err := New(DefaultConfig(24))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Processor{hf, hf.WithDecodeOptions(&DecodeOptions{DropAlpha: true}), oc} {
		whole := *p
		whole.decode.wholePNG16 = true
		got, err1 := p.Reader(bytes.NewReader(data))
		want, err2 := whole.Reader(bytes.NewReader(data))
		if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
			t.Fatalf("%s: errors differ: %v / image/png: %v", name, err1, err2)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: preprocessed pixels differ from image/png's path", name)
		}
	}
	got, err1 := Decode(bytes.NewReader(data), nil)
	want, err2 := Decode(bytes.NewReader(data), &DecodeOptions{wholePNG16: true})
	if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
		t.Fatalf("%s: Decode errors differ: %v / image/png: %v", name, err1, err2)
	}
	if err1 == nil && (!bytes.Equal(got.Pix, want.Pix) || got.Rect != want.Rect) {
		t.Fatalf("%s: decoded pixels differ from image/png's path", name)
	}
}

// TestPNG16MatchesImagePNG: the row-by-row 16-bit decoder gives exactly
// the pixels of the image/png path (Decode, transformers' and OpenCLIP's
// preprocessing, with and without alpha compositing) for every colour
// type, filter, size and IDAT split, with a tRNS colour key, and for the
// files image/png's own encoder writes.
func TestPNG16MatchesImagePNG(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 16))
	filters := map[string]func(int) byte{
		"none": func(int) byte { return 0 }, "sub": func(int) byte { return 1 }, "up": func(int) byte { return 2 },
		"average": func(int) byte { return 3 }, "paeth": func(int) byte { return 4 },
		"mixed": func(y int) byte { return byte(y % 5) },
	}
	for _, ct := range []int{0, 2, 4, 6} {
		for fname, f := range filters {
			for _, sz := range [][2]int{{1, 1}, {7, 5}, {33, 17}} {
				data := png16(ct, sz[0], sz[1], rng, f, 1+rng.IntN(200))
				if ct != 0 {
					if _, err := decodePNG16(data); err != nil {
						t.Fatalf("ct %d %s %v: decodePNG16: %v", ct, fname, sz, err)
					}
				}
				bothWays(t, "generated", data)
			}
		}
	}
	// A tRNS colour key (truecolour): pngKey removes it, the rows are the
	// streaming decoder's.
	key := make([]byte, 6)
	data := png16(2, 9, 9, rng, func(y int) byte { return byte(y % 5) }, 64, chunk(nil, "tRNS", key))
	bothWays(t, "tRNS key", data)
	// image/png's encoder: opaque RGBA64 (colour type 2) and NRGBA64 (6).
	rgba := image.NewRGBA64(image.Rect(0, 0, 40, 30))
	nrgba := image.NewNRGBA64(image.Rect(0, 0, 40, 30))
	for i := range rgba.Pix {
		rgba.Pix[i], nrgba.Pix[i] = uint8(rng.Uint32()), uint8(rng.Uint32())
		if i%8 >= 6 {
			rgba.Pix[i] = 255
		}
	}
	for _, im := range []image.Image{rgba, nrgba} {
		var b bytes.Buffer
		png.Encode(&b, im)
		if png16Type(b.Bytes()) < 0 {
			t.Fatalf("%T: encoded as colour type %d depth %d", im, b.Bytes()[25], b.Bytes()[24])
		}
		if _, err := decodePNG16(b.Bytes()); err != nil {
			t.Fatalf("%T: decodePNG16: %v", im, err)
		}
		bothWays(t, "image/png encoder", b.Bytes())
	}
}

// TestPNG16Hostile: damaged files give image/png's error (the streaming
// decoder refuses them and image/png reports), never a different image.
func TestPNG16Hostile(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	good := png16(6, 12, 10, rng, func(y int) byte { return byte(y % 5) }, 50)
	cases := map[string][]byte{}
	for _, k := range []int{9, 33, 40, 60, len(good) / 2, len(good) - 12, len(good) - 1} {
		cases["truncated"] = good[:k]
		bothWays(t, "truncated", good[:k])
	}
	flip := func(i int) []byte { b := slices.Clone(good); b[i] ^= 0x40; return b }
	for i := 8; i < len(good); i += 7 {
		bothWays(t, "flipped byte", flip(i))
	}
	idat := func(raw []byte) []byte { // a valid 2×2 RGBA16 image's IDATs with raw rows
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(raw)
		zw.Close()
		return z.Bytes()
	}
	hdr := chunk(append([]byte(nil), pngSig...), "IHDR", []byte{0, 0, 0, 2, 0, 0, 0, 2, 16, 6, 0, 0, 0})
	row := make([]byte, 17)
	for name, b := range map[string][]byte{
		"bad filter":      chunk(chunk(hdr, "IDAT", idat(append(append([]byte{5}, row[1:]...), row...))), "IEND", nil),
		"too few rows":    chunk(chunk(hdr, "IDAT", idat(row)), "IEND", nil),
		"too many rows":   chunk(chunk(hdr, "IDAT", idat(slices.Concat(row, row, row))), "IEND", nil),
		"no IEND":         chunk(hdr, "IDAT", idat(slices.Concat(row, row))),
		"trailing IDAT":   chunk(chunk(chunk(hdr, "IDAT", idat(slices.Concat(row, row))), "IDAT", []byte("junk")), "IEND", nil),
		"junk after zlib": chunk(chunk(hdr, "IDAT", append(idat(slices.Concat(row, row)), 1, 2, 3)), "IEND", nil),
		"text in IDATs":   chunk(chunk(chunk(chunk(hdr, "IDAT", idat(slices.Concat(row, row))[:10]), "tEXt", []byte("a\x00b")), "IDAT", idat(slices.Concat(row, row))[10:]), "IEND", nil),
		"PLTE":            chunk(chunk(chunk(hdr, "PLTE", []byte{1, 2}), "IDAT", idat(slices.Concat(row, row))), "IEND", nil),
		"tRNS on RGBA":    chunk(chunk(chunk(hdr, "tRNS", []byte{1, 2}), "IDAT", idat(slices.Concat(row, row))), "IEND", nil),
		"valid":           chunk(chunk(hdr, "IDAT", idat(slices.Concat(row, row))), "IEND", nil),
		"huge length":     append(hdr, 0xff, 0xff, 0xff, 0xf0, 'I', 'D', 'A', 'T'),
	} {
		bothWays(t, name, b)
		if _, err := decodePNG16(b); (err == nil) != (name == "valid") {
			t.Errorf("%s: decodePNG16 error %v", name, err)
		}
	}
}

// FuzzPNG16: whatever the bytes, decodePNG16 never panics and succeeds
// only where image/png succeeds, with the high bytes of image/png's image.
// With fixCRC the chunks' checksums are recomputed first, so that mutations
// reach the chunk layout, zlib stream and filters instead of stopping at a
// checksum.
func FuzzPNG16(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 6))
	for _, ct := range []int{2, 4, 6} {
		f.Add(png16(ct, 5, 4, rng, func(y int) byte { return byte(y % 5) }, 30), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, fixCRC bool) {
		if fixCRC {
			b = fixCRCs(b)
		}
		if png16Type(b) < 0 {
			return
		}
		w, h := binary.BigEndian.Uint32(b[16:]), binary.BigEndian.Uint32(b[20:])
		if uint64(w)*uint64(h) > 1<<16 {
			return // both decoders would allocate the whole image
		}
		got, err := decodePNG16(b)
		if err != nil {
			return
		}
		want, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("decodePNG16 accepted what image/png refuses: %v", err)
		}
		bb := want.Bounds()
		for y := bb.Min.Y; y < bb.Max.Y; y++ {
			for x := bb.Min.X; x < bb.Max.X; x++ {
				r, g, b, a := want.At(x, y).RGBA()
				if nw, ok := want.(*image.NRGBA64); ok {
					c := nw.NRGBA64At(x, y)
					r, g, b, a = uint32(c.R), uint32(c.G), uint32(c.B), uint32(c.A)
				}
				var gr, gg, gb, ga uint8
				switch m := got.(type) {
				case *RGB:
					i := y*m.Stride + 3*x
					gr, gg, gb, ga = m.Pix[i], m.Pix[i+1], m.Pix[i+2], 0xff
				case *image.NRGBA:
					c := m.NRGBAAt(x, y)
					gr, gg, gb, ga = c.R, c.G, c.B, c.A
				}
				if gr != uint8(r>>8) || gg != uint8(g>>8) || gb != uint8(b>>8) || ga != uint8(a>>8) {
					t.Fatalf("(%d,%d): %v %v %v %v, image/png %x %x %x %x", x, y, gr, gg, gb, ga, r, g, b, a)
				}
			}
		}
	})
}

// fixCRCs returns b with the checksum of every whole chunk recomputed.
func fixCRCs(b []byte) []byte {
	b = slices.Clone(b)
	for pos := 8; pos+12 <= len(b); {
		n := int64(binary.BigEndian.Uint32(b[pos:]))
		end := int64(pos) + 8 + n
		if end+4 > int64(len(b)) {
			break
		}
		binary.BigEndian.PutUint32(b[end:], crc32.ChecksumIEEE(b[pos+4:end]))
		pos = int(end) + 4
	}
	return b
}

// smoothPNG16 encodes a side×side 16-bit image of colour type ct with
// smooth content (quick to compress), filter Sub on every row.
func smoothPNG16(ct, side int) []byte {
	ch := map[int]int{2: 3, 6: 4}[ct]
	row := make([]byte, 1+2*ch*side)
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	for y := range side {
		row[0] = 1
		for i := 1; i < len(row); i++ {
			row[i] = uint8(y >> 4) // Sub: each sample adds this to its left neighbour
		}
		zw.Write(row)
	}
	zw.Close()
	hdr := make([]byte, 13)
	binary.BigEndian.PutUint32(hdr[0:], uint32(side))
	binary.BigEndian.PutUint32(hdr[4:], uint32(side))
	hdr[8], hdr[9] = 16, byte(ct)
	out := chunk(append([]byte(nil), pngSig...), "IHDR", hdr)
	for b := z.Bytes(); len(b) > 0; {
		n := min(1<<16, len(b))
		out = chunk(out, "IDAT", b[:n])
		b = b[n:]
	}
	return chunk(out, "IEND", nil)
}

// TestPNG16Memory: preprocessing a 16-bit RGBA PNG holds the 8-bit image
// (4 bytes a pixel), not image/png's 16-bit one (8 bytes a pixel).
// GOCLIP_PNG16_SIDE=4096 gives the README's measurement.
func TestPNG16Memory(t *testing.T) {
	side := 1024
	if s, err := strconv.Atoi(os.Getenv("GOCLIP_PNG16_SIDE")); err == nil && s > 0 {
		side = s
	}
	p, err := New(DefaultConfig(224))
	if err != nil {
		t.Fatal(err)
	}
	whole := *p
	whole.decode.wholePNG16 = true
	for _, ct := range []int{6, 2} {
		data := smoothPNG16(ct, side)
		peak := func(q *Processor) int64 {
			return heaptest.PeakGrowth(func() {
				if _, err := q.Reader(bytes.NewReader(data)); err != nil {
					t.Fatal(err)
				}
			})
		}
		before, after := peak(&whole), peak(p)
		px := int64(side) * int64(side)
		t.Logf("colour type %d, %d² px, %d KiB encoded: heap grew %.1f MiB with image/png, %.1f MiB row by row (16-bit image %d MiB, 8-bit %d MiB)",
			ct, side, len(data)>>10, float64(before)/(1<<20), float64(after)/(1<<20), 8*px>>20, png16Bytes(ct, side, side)>>20)
		// Row by row holds the 8-bit image plus at most 2.5 MiB for the
		// rest (the encoded file, rows, the zlib window, the resampler's
		// buffers: 1.5 MiB measured at 1024²); image/png's path holds the
		// 16-bit image.
		if limit := png16Bytes(ct, side, side) + 5<<19; after > limit || after >= 8*px || before < 8*px {
			t.Errorf("colour type %d: heap grew %d KiB (limit %d KiB); image/png path %d KiB (expected ≥ %d KiB)", ct, after>>10, limit>>10, before>>10, 8*px>>10)
		}
	}
}
