package imageproc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"io"
)

// Streaming 16-bit PNG: image/png decodes a 16-bit image whole (8 bytes a
// pixel for truecolour, with or without alpha, and grey with alpha), and
// the pipeline then keeps only each sample's high byte (Pillow's RGB;16B
// and RGBA;16B unpackers do the same). decodePNG16 inflates and unfilters
// one row at a time and keeps the high bytes at once, so the decode holds
// the 8-bit image (3 or 4 bytes a pixel) and two rows, not the 16-bit one.
// It covers non-interlaced colour types 2, 4 and 6 at depth 16; 16-bit grey
// stays with image/png (OpenCLIP's mode I;16 needs the full values).
//
// It accepts only what image/png accepts and gives the same pixels: on any
// doubt it returns an error, and the caller decodes with image/png, which
// then reports the damage in its own words (or decodes what this stricter
// reader refused). The fuzz target FuzzPNG16 checks both claims.

var pngSig = []byte("\x89PNG\r\n\x1a\n")

// png16Type returns the colour type of a PNG this file decodes (2, 4 or 6
// at depth 16, not interlaced), or -1.
func png16Type(data []byte) int {
	if len(data) < 33 || !bytes.Equal(data[:8], pngSig) || string(data[12:16]) != "IHDR" ||
		binary.BigEndian.Uint32(data[8:12]) != 13 {
		return -1
	}
	depth, ct, comp, filter, interlace := data[24], data[25], data[26], data[27], data[28]
	if depth != 16 || (ct != 2 && ct != 4 && ct != 6) || comp != 0 || filter != 0 || interlace != 0 {
		return -1
	}
	return int(ct)
}

// png16Bytes is the decoded size decodePNG16 allocates for a w×h image of
// colour type ct.
func png16Bytes(ct, w, h int) int64 {
	if ct == 2 {
		return 3 * int64(w) * int64(h)
	}
	return 4 * int64(w) * int64(h)
}

// idatReader yields the payloads of consecutive IDAT chunks, checking each
// chunk's CRC, and records where the chunks after them start.
type idatReader struct {
	data []byte
	pos  int    // next chunk header
	cur  []byte // rest of the current IDAT payload
	done bool   // a non-IDAT chunk follows
}

func (r *idatReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.done {
			return 0, io.EOF
		}
		typ, body, next, err := pngChunk(r.data, r.pos)
		if err != nil {
			return 0, err
		}
		if typ != "IDAT" {
			r.done = true
			return 0, io.EOF
		}
		r.cur, r.pos = body, next
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// ReadByte makes idatReader a flate.Reader: flate then reads no further
// than the end of the zlib stream, so data after it is seen.
func (r *idatReader) ReadByte() (byte, error) {
	var b [1]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return b[0], nil
}

// pngChunk reads the chunk at pos, checking its CRC.
func pngChunk(data []byte, pos int) (typ string, body []byte, next int, err error) {
	if pos+12 > len(data) {
		return "", nil, 0, io.ErrUnexpectedEOF
	}
	n := int64(binary.BigEndian.Uint32(data[pos:]))
	if n > 0x7fffffff || int64(pos)+12+n > int64(len(data)) {
		return "", nil, 0, io.ErrUnexpectedEOF
	}
	end := pos + 8 + int(n)
	if crc32.ChecksumIEEE(data[pos+4:end]) != binary.BigEndian.Uint32(data[end:]) {
		return "", nil, 0, errors.New("png: invalid checksum")
	}
	return string(data[pos+4 : pos+8]), data[pos+8 : end], end + 4, nil
}

// decodePNG16 decodes a PNG for which png16Type is not -1 (*RGB for colour
// type 2, *image.NRGBA for 4 and 6).
func decodePNG16(data []byte) (image.Image, error) {
	ct := png16Type(data)
	if ct < 0 {
		return nil, errors.New("png16: not a non-interlaced 16-bit colour PNG")
	}
	w, h := int(binary.BigEndian.Uint32(data[16:20])), int(binary.BigEndian.Uint32(data[20:24]))
	if w <= 0 || h <= 0 || int64(w)*int64(h) > 1<<31 {
		return nil, fmt.Errorf("png16: bad size %dx%d", w, h)
	}
	// Chunks before the image data: CRCs checked; no IEND, second IHDR,
	// PLTE or tRNS (image/png checks their contents; pngKey has removed a
	// valid tRNS already).
	pos := 8
	for {
		typ, _, next, err := pngChunk(data, pos)
		if err != nil {
			return nil, err
		}
		if typ == "IDAT" {
			break
		}
		if (typ == "IHDR") != (pos == 8) || typ == "IEND" || typ == "tRNS" || typ == "PLTE" {
			return nil, fmt.Errorf("png16: chunk %q out of place", typ)
		}
		pos = next
	}
	channels := map[int]int{2: 3, 4: 2, 6: 4}[ct]
	out, err := png16Rows(&idatReader{data: data, pos: pos}, ct, w, h, 2*channels)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// png16Rows inflates and unfilters h rows of w pixels of bpp bytes, keeping
// high bytes, then requires the end of the zlib stream and of the IDATs and
// an IEND after them.
func png16Rows(idat *idatReader, ct, w, h, bpp int) (image.Image, error) {
	zr, err := zlib.NewReader(idat)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var img image.Image
	var pix []uint8
	var stride int
	if ct == 2 {
		m := NewRGB(image.Rect(0, 0, w, h))
		img, pix, stride = m, m.Pix, m.Stride
	} else {
		m := image.NewNRGBA(image.Rect(0, 0, w, h))
		img, pix, stride = m, m.Pix, m.Stride
	}
	n := bpp * w
	cr, pr := make([]uint8, 1+n), make([]uint8, 1+n)
	for y := range h {
		if _, err := io.ReadFull(zr, cr); err != nil {
			return nil, err
		}
		if err := unfilter(cr[0], cr[1:], pr[1:], bpp); err != nil {
			return nil, err
		}
		highBytes(pix[y*stride:(y+1)*stride], cr[1:], ct, w)
		cr, pr = pr, cr
	}
	// image/png: extra pixel data is an error; the checksum is verified at EOF.
	if k, err := zr.Read(cr[:1]); k != 0 || err != io.EOF {
		return nil, errors.New("png16: too much pixel data")
	}
	if len(idat.cur) != 0 {
		return nil, errors.New("png16: data after the zlib stream")
	}
	for pos := idat.pos; ; {
		typ, _, next, err := pngChunk(idat.data, pos)
		if err != nil {
			return nil, err
		}
		switch typ {
		case "IEND":
			return img, nil
		case "IHDR", "PLTE", "tRNS", "IDAT":
			return nil, fmt.Errorf("png16: chunk %q after the image data", typ)
		}
		pos = next
	}
}

// unfilter reverses PNG filter ft on row cur given the previous row prev
// (zeros before the first), bpp bytes a pixel.
func unfilter(ft uint8, cur, prev []uint8, bpp int) error {
	switch ft {
	case 0:
	case 1:
		for i := bpp; i < len(cur); i++ {
			cur[i] += cur[i-bpp]
		}
	case 2:
		for i, p := range prev {
			cur[i] += p
		}
	case 3:
		for i := range bpp {
			cur[i] += prev[i] / 2
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += uint8((int(cur[i-bpp]) + int(prev[i])) / 2)
		}
	case 4:
		for i := range bpp {
			cur[i] += prev[i]
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += paeth(cur[i-bpp], prev[i], prev[i-bpp])
		}
	default:
		return fmt.Errorf("png16: bad filter type %d", ft)
	}
	return nil
}

func paeth(a, b, c uint8) uint8 {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(v int) int { return max(v, -v) }

// highBytes writes a row of 16-bit big-endian samples as 8-bit pixels:
// RGB for colour type 2, NRGBA for 6, and grey+alpha (4) as NRGBA.
func highBytes(dst, src []uint8, ct, w int) {
	switch ct {
	case 2:
		for i := range 3 * w {
			dst[i] = src[2*i]
		}
	case 6:
		for i := range 4 * w {
			dst[i] = src[2*i]
		}
	case 4:
		for x := range w {
			g, a := src[4*x], src[4*x+2]
			dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = g, g, g, a
		}
	}
}
