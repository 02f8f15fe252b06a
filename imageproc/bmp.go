package imageproc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
)

// BMP files that golang.org/x/image/bmp refuses but Pillow opens, decoded
// as Pillow's BmpImagePlugin does: OS/2 1.x headers (24-bit too), 1/4/8-bit palettes of
// any size, RLE8 and RLE4 compression, 16-bit pixels (5-5-5, and 5-6-5
// bitfields) expanded with Pillow's v*255/31 (v*255/63) unpackers. Other
// files (24- and 32-bit) go to x/image/bmp, which matches Pillow on them.

type bmpInfo struct {
	w, h        int
	topDown     bool
	bits        int
	compression int
	colors      int
	palPad      int // bytes per palette entry: 3 (OS/2) or 4
	masks       [3]uint32
	palOff, pix int // offsets of the palette and the pixel data
	headerSize  int
}

// parseBMP reads the headers. It returns nil and no error for files left to
// x/image/bmp.
func parseBMP(data []byte) (*bmpInfo, error) {
	if len(data) < 14+12 {
		return nil, errors.New("truncated BMP header")
	}
	le := binary.LittleEndian
	b := &bmpInfo{pix: int(le.Uint32(data[10:])), headerSize: int(le.Uint32(data[14:]))}
	hd := data[18:]
	switch b.headerSize {
	case 12:
		b.w, b.h = int(le.Uint16(hd)), int(le.Uint16(hd[2:]))
		b.bits, b.palPad = int(le.Uint16(hd[6:])), 3
	case 40, 52, 56, 64, 108, 124:
		if len(data) < 14+b.headerSize {
			return nil, errors.New("truncated BMP header")
		}
		b.w = int(int32(le.Uint32(hd)))
		h := le.Uint32(hd[4:])
		if b.topDown = hd[7] == 0xff; b.topDown {
			h = -h
		}
		b.h = int(h)
		b.bits, b.compression, b.colors = int(le.Uint16(hd[10:])), int(le.Uint32(hd[12:])), int(le.Uint32(hd[28:]))
		b.palPad = 4
		if b.compression == 3 {
			m := hd[36:]
			if b.headerSize == 40 { // masks follow the header
				if len(data) < 14+40+12 {
					return nil, errors.New("truncated BMP bitfields")
				}
				m = data[14+40:]
			}
			b.masks = [3]uint32{le.Uint32(m), le.Uint32(m[4:]), le.Uint32(m[8:])}
		}
	default:
		return nil, unsupportedFeature(fmt.Sprintf("BMP header type %d", b.headerSize))
	}
	if b.colors == 0 && b.bits <= 16 {
		b.colors = 1 << b.bits
	}
	b.palOff = 14 + b.headerSize
	if b.headerSize == 40 && b.compression == 3 {
		b.palOff += 12
	}
	if b.pix == 14+b.headerSize && b.bits <= 8 { // Pillow: the offset skips no palette
		b.pix += b.palPad * b.colors
	}
	switch {
	case b.w <= 0 || b.h <= 0:
		return nil, fmt.Errorf("invalid BMP size %dx%d", b.w, b.h)
	case b.bits == 24 && b.headerSize == 12:
		return b, nil // OS/2 1.x: x/image/bmp refuses the header
	case b.bits == 24 || b.bits == 32:
		if b.headerSize == 12 || b.compression > 3 {
			return nil, unsupportedFeature(fmt.Sprintf("BMP compression %d at %d bits", b.compression, b.bits))
		}
		return nil, nil // x/image/bmp
	case b.bits != 1 && b.bits != 4 && b.bits != 8 && b.bits != 16:
		return nil, unsupportedFeature(fmt.Sprintf("BMP pixel depth %d", b.bits))
	case b.compression == 1 && b.bits != 8, b.compression == 2 && b.bits != 4:
		return nil, fmt.Errorf("BMP RLE compression %d at %d bits", b.compression, b.bits)
	case b.compression == 3 && b.bits != 16, b.compression > 3:
		return nil, unsupportedFeature(fmt.Sprintf("BMP compression %d at %d bits", b.compression, b.bits))
	case b.compression == 3 && b.masks != [3]uint32{0xf800, 0x7e0, 0x1f} && b.masks != [3]uint32{0x7c00, 0x3e0, 0x1f}:
		return nil, unsupportedFeature(fmt.Sprintf("BMP bitfields %#x", b.masks))
	case b.bits <= 8 && (b.colors <= 0 || b.colors > 65536):
		return nil, fmt.Errorf("BMP palette size %d", b.colors)
	}
	return b, nil
}

// decode decodes the pixels (bounds were checked against the pixel limit).
func (b *bmpInfo) decode(data []byte) (image.Image, error) {
	if b.pix < 0 || b.pix > len(data) {
		return nil, errors.New("BMP pixel offset out of range")
	}
	if b.bits >= 16 {
		return b.decodeRGB(data[b.pix:])
	}
	pal, err := b.palette(data)
	if err != nil {
		return nil, err
	}
	m := image.NewPaletted(image.Rect(0, 0, b.w, b.h), pal)
	var rows []byte // bottom-up unless topDown, w bytes per row
	if b.compression == 1 || b.compression == 2 {
		if rows = bmpRLE(data, b.pix, b.w, b.h, b.compression == 2); len(rows) < b.w*b.h {
			return nil, fmt.Errorf("RLE data ends early (not enough image data): %w", io.ErrUnexpectedEOF)
		}
	} else {
		stride := ((b.w*b.bits + 31) >> 3) &^ 3
		if b.pix+stride*b.h > len(data) {
			return nil, fmt.Errorf("truncated BMP pixel data: %w", io.ErrUnexpectedEOF)
		}
		rows = make([]byte, b.w*b.h)
		for y := 0; y < b.h; y++ {
			src, dst := data[b.pix+y*stride:], rows[y*b.w:(y+1)*b.w]
			per := 8 / b.bits
			for x := range dst {
				v := src[x/per]
				dst[x] = v >> (8 - b.bits - (x%per)*b.bits) & (1<<b.bits - 1)
			}
		}
	}
	for y := 0; y < b.h; y++ {
		sy := b.h - 1 - y
		if b.topDown {
			sy = y
		}
		copy(m.Pix[y*m.Stride:y*m.Stride+b.w], rows[sy*b.w:])
	}
	return m, nil
}

// palette reads the colour table as Pillow does: colors entries of palPad
// bytes (B, G, R); indices past it are black.
func (b *bmpInfo) palette(data []byte) (color.Palette, error) {
	n := min(b.colors, 256)
	if b.palOff+b.palPad*n > len(data) {
		return nil, fmt.Errorf("truncated BMP palette: %w", io.ErrUnexpectedEOF)
	}
	pal := make(color.Palette, 256)
	for i := range pal {
		pal[i] = color.RGBA{0, 0, 0, 255}
		if i < n {
			e := data[b.palOff+b.palPad*i:]
			pal[i] = color.RGBA{e[2], e[1], e[0], 255}
		}
	}
	return pal, nil
}

// decodeRGB reads 24-bit BGR, or expands 16-bit pixels with Pillow's
// BGR;15 / BGR;16 unpackers.
func (b *bmpInfo) decodeRGB(px []byte) (image.Image, error) {
	stride := ((b.w*b.bits + 31) >> 3) &^ 3
	if stride*b.h > len(px) {
		return nil, fmt.Errorf("truncated BMP pixel data: %w", io.ErrUnexpectedEOF)
	}
	g6 := b.masks[1] == 0x7e0
	m := NewRGB(image.Rect(0, 0, b.w, b.h))
	for y := 0; y < b.h; y++ {
		sy := b.h - 1 - y
		if b.topDown {
			sy = y
		}
		src, dst := px[sy*stride:], m.Pix[y*m.Stride:]
		if b.bits == 24 {
			for x := 0; x < b.w; x++ {
				dst[3*x], dst[3*x+1], dst[3*x+2] = src[3*x+2], src[3*x+1], src[3*x]
			}
			continue
		}
		for x := 0; x < b.w; x++ {
			v := int(src[2*x]) | int(src[2*x+1])<<8
			if g6 {
				dst[3*x], dst[3*x+1], dst[3*x+2] = uint8((v>>11&31)*255/31), uint8((v>>5&63)*255/63), uint8((v&31)*255/31)
			} else {
				dst[3*x], dst[3*x+1], dst[3*x+2] = uint8((v>>10&31)*255/31), uint8((v>>5&31)*255/31), uint8((v&31)*255/31)
			}
		}
	}
	return m, nil
}

// bmpRLE is Pillow's BmpRleDecoder: it returns up to w*h indices, bottom
// row first (fewer if the stream stops early, which Pillow reports as "not
// enough image data"). pos is the file offset of the
// stream (absolute-mode runs are padded to an even file offset).
func bmpRLE(data []byte, pos, w, h int, rle4 bool) []byte {
	dest := w * h
	out := make([]byte, 0, dest)
	x := 0
	for len(out) < dest && pos+2 <= len(data) {
		n, v := int(data[pos]), data[pos+1]
		pos += 2
		if n > 0 {
			n = min(n, max(0, w-x))
			for i := 0; i < n; i++ {
				p := v
				if rle4 {
					p = v >> 4
					if i%2 == 1 {
						p = v & 15
					}
				}
				out = append(out, p)
			}
			x += n
			continue
		}
		switch v {
		case 0: // end of line
			for len(out)%w != 0 {
				out = append(out, 0)
			}
			x = 0
		case 1: // end of bitmap
			return out
		case 2: // delta
			if pos+2 > len(data) {
				return out
			}
			right, up := int(data[pos]), int(data[pos+1])
			pos += 2
			for k := min(dest-len(out), right+up*w); k > 0; k-- {
				out = append(out, 0)
			}
			x = len(out) % w
		default: // absolute run of v pixels
			count := min(dest-len(out), int(v))
			nb := count
			if rle4 {
				nb = (count + 1) / 2
			}
			got := data[pos:min(len(data), pos+nb)]
			pos += len(got)
			for i, c := range got {
				if rle4 {
					out = append(out, c>>4)
					if 2*i+1 < count {
						out = append(out, c&15)
					}
				} else {
					out = append(out, c)
				}
			}
			if len(got) < nb || len(out) == dest {
				return out
			}
			x += int(v)
			if pos%2 != 0 {
				pos++
			}
		}
	}
	return out
}
