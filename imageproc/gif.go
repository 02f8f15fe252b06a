package imageproc

import (
	"image"
	"image/color"
)

// fixGIFPalette restores the colour of the first frame's transparent index.
// Go's image/gif replaces it with transparent black; Pillow's
// convert("RGB") shows the colour stored in the colour table. The table is
// found by walking the GIF blocks up to the first image descriptor; on any
// surprise the palette is left as it is. It returns the transparent index,
// or -1.
func fixGIFPalette(m *image.Paletted, data []byte) int {
	if len(data) < 13 {
		return -1
	}
	pos := 13
	var table []byte
	if f := data[10]; f&0x80 != 0 {
		n := 3 << (f&7 + 1)
		if pos+n > len(data) {
			return -1
		}
		table = data[pos : pos+n]
		pos += n
	}
	trans := -1
	for pos < len(data) {
		switch data[pos] {
		case 0x21: // extension
			if pos+2 > len(data) {
				return -1
			}
			label := data[pos+1]
			pos += 2
			if label == 0xf9 && pos+5 <= len(data) && data[pos] == 4 {
				if data[pos+1]&1 != 0 {
					trans = int(data[pos+4])
				} else {
					trans = -1
				}
			}
			for pos < len(data) && data[pos] != 0 { // sub-blocks
				pos += int(data[pos]) + 1
			}
			pos++
		case 0x2c: // image descriptor
			if pos+10 > len(data) {
				return -1
			}
			if f := data[pos+9]; f&0x80 != 0 {
				n := 3 << (f&7 + 1)
				if pos+10+n > len(data) {
					return -1
				}
				table = data[pos+10 : pos+10+n]
			}
			if trans >= 0 && 3*trans+3 <= len(table) && trans < len(m.Palette) {
				c := table[3*trans : 3*trans+3]
				m.Palette[trans] = color.RGBA{c[0], c[1], c[2], 0xff}
			}
			return trans
		default:
			return -1
		}
	}
	return -1
}

// gifCanvas places a first frame smaller than the logical screen on a
// screen-sized canvas as Pillow does: filled with the transparent index if
// there is one, else index 0.
func gifCanvas(m *image.Paletted, w, h, trans int) *image.Paletted {
	screen := image.Rect(0, 0, w, h)
	if m.Rect == screen || !m.Rect.In(screen) {
		return m
	}
	c := image.NewPaletted(screen, m.Palette)
	if trans > 0 && trans < 256 {
		for i := range c.Pix {
			c.Pix[i] = uint8(trans)
		}
	}
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		copy(c.Pix[c.PixOffset(m.Rect.Min.X, y):], m.Pix[m.PixOffset(m.Rect.Min.X, y):m.PixOffset(m.Rect.Max.X, y)])
	}
	return c
}
