package imageproc

import (
	"encoding/binary"
	"errors"
)

// pngKey finds a greyscale or truecolour PNG's tRNS colour key. It returns
// the data without that chunk (so that Go's decoder gives the opaque image
// Pillow opens) and the key as Pillow's convert_transparent compares it:
// with the 8-bit pixels Pillow holds (1-bit as 0/255, 2- and 4-bit scaled
// to 0..255, 16-bit clipped or high byte) against the low byte of each
// stored 16-bit value. A 1-bit image's key is 255 if the value is not 0.
// ok is false when there is no key.
func pngKey(data []byte) (out []byte, key [3]uint8, ok bool, err error) {
	const sig = 8
	if len(data) < sig+8+13 || string(data[sig+4:sig+8]) != "IHDR" {
		return data, key, false, nil
	}
	depth, ctype := data[sig+8+8], data[sig+8+9]
	if ctype != 0 && ctype != 2 {
		return data, key, false, nil
	}
	for pos := sig; pos+8 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[pos:]))
		typ := string(data[pos+4 : pos+8])
		end := pos + 12 + n
		if n < 0 || end > len(data) || end < pos {
			return data, key, false, nil // Go's decoder reports the damage
		}
		switch typ {
		case "IDAT", "IEND":
			return data, key, false, nil
		case "tRNS":
			s := data[pos+8 : pos+8+n]
			if ctype == 0 && n >= 2 {
				v := uint8(binary.BigEndian.Uint16(s))
				if depth == 1 {
					v = 0
					if binary.BigEndian.Uint16(s) != 0 {
						v = 255
					}
				}
				key = [3]uint8{v, v, v}
			} else if ctype == 2 && n >= 6 {
				for c := range key {
					key[c] = uint8(binary.BigEndian.Uint16(s[2*c:]))
				}
			} else {
				return nil, key, false, errors.New("truncated tRNS chunk")
			}
			out = make([]byte, 0, len(data)-(end-pos))
			out = append(append(out, data[:pos]...), data[end:]...)
			return out, key, true, nil
		}
		pos = end
	}
	return data, key, false, nil
}

// webpHasAlpha reports whether libwebp's WebPGetFeatures says the file has
// alpha, which decides whether Pillow opens it as RGBA or RGB: a VP8L
// bitstream's alpha_is_used bit, else the VP8X alpha flag or an ALPH chunk
// (an animation: the VP8X flag alone).
func webpHasAlpha(data []byte) bool {
	if len(data) < 21 {
		return false
	}
	vp8l := func(p int) bool {
		return p+25 <= len(data) && data[p+8] == 0x2f && binary.LittleEndian.Uint32(data[p+9:])>>28&1 != 0
	}
	switch string(data[12:16]) {
	case "VP8L":
		return vp8l(12)
	case "VP8X":
	default:
		return false
	}
	flags := data[20]
	has := flags&0x10 != 0
	if flags&0x02 != 0 { // animation
		return has
	}
	for pos := 12; pos+8 <= len(data); {
		n := int(binary.LittleEndian.Uint32(data[pos+4:]))
		switch string(data[pos : pos+4]) {
		case "VP8L":
			return vp8l(pos)
		case "ALPH":
			has = true
		case "VP8 ":
			return has
		}
		if n < 0 || pos+8+n+n&1 > len(data) {
			return has
		}
		pos += 8 + n + n&1
	}
	return has
}
