package imageproc

import (
	"encoding/binary"
	"errors"
)

// webpFirstFrame returns, for an animated WebP (VP8X with the animation
// flag), a still WebP holding its first frame, which is what Pillow's open
// gives (libwebp's WebPAnimDecoder: the first frame is a key frame drawn
// on a transparent canvas). Only a first frame covering the whole canvas is
// supported. ok is false for files that are not animated.
func webpFirstFrame(data []byte) (still []byte, ok bool, err error) {
	if len(data) < 30 || string(data[12:16]) != "VP8X" || data[20]&0x02 == 0 {
		return nil, false, nil
	}
	le := binary.LittleEndian
	u24 := func(b []byte) int { return int(b[0]) | int(b[1])<<8 | int(b[2])<<16 }
	cw, ch := 1+u24(data[24:]), 1+u24(data[27:])
	for pos := 12; pos+8 <= len(data); {
		n := int(le.Uint32(data[pos+4:]))
		if n < 0 || pos+8+n > len(data) {
			break
		}
		if string(data[pos:pos+4]) != "ANMF" {
			pos += 8 + n + n&1
			continue
		}
		f := data[pos+8 : pos+8+n]
		if len(f) < 16 {
			return nil, true, errors.New("truncated ANMF chunk")
		}
		x, y := 2*u24(f[0:]), 2*u24(f[3:])
		w, h := 1+u24(f[6:]), 1+u24(f[9:])
		if x != 0 || y != 0 || w != cw || h != ch {
			return nil, true, unsupportedFeature("animated WebP whose first frame does not cover the canvas")
		}
		return stillWebP(f[16:], w, h)
	}
	return nil, true, errors.New("animated WebP without an ANMF frame")
}

// stillWebP wraps a frame's ALPH and VP8 / VP8L sub-chunks into a still
// WebP file.
func stillWebP(sub []byte, w, h int) ([]byte, bool, error) {
	le := binary.LittleEndian
	var alph, img []byte
	for pos := 0; pos+8 <= len(sub); {
		n := int(le.Uint32(sub[pos+4:]))
		end := pos + 8 + n + n&1
		if n < 0 || pos+8+n > len(sub) {
			return nil, true, errors.New("truncated animated WebP frame")
		}
		switch string(sub[pos : pos+4]) {
		case "ALPH":
			alph = sub[pos:min(end, len(sub))]
		case "VP8 ", "VP8L":
			img = sub[pos:min(end, len(sub))]
		}
		pos = end
	}
	if img == nil {
		return nil, true, errors.New("animated WebP frame without image data")
	}
	body := []byte("WEBP")
	if alph != nil && string(img[:4]) == "VP8 " {
		vp8x := make([]byte, 18)
		copy(vp8x, "VP8X")
		le.PutUint32(vp8x[4:], 10)
		vp8x[8] = 0x10 // alpha
		for i, v := range []int{w - 1, h - 1} {
			vp8x[12+3*i], vp8x[13+3*i], vp8x[14+3*i] = byte(v), byte(v>>8), byte(v>>16)
		}
		body = append(append(append(body, vp8x...), alph...), img...)
		if len(alph)%2 == 1 {
			body = append(body, 0)
		}
	} else {
		body = append(body, img...)
	}
	if len(body)%2 == 1 {
		body = append(body, 0)
	}
	out := append([]byte("RIFF\x00\x00\x00\x00"), body...)
	le.PutUint32(out[4:], uint32(len(body)))
	return out, true, nil
}
