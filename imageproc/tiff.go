package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"sort"
)

// tiffInfo is what goclip needs from a TIFF's first IFD before handing the
// file to golang.org/x/image/tiff: features that package would reject with a
// vague message or decode differently from Pillow (libtiff).
type tiffInfo struct {
	compression, photometric, planar, samples int
	t4Options                                 int
	bits                                      int // BitsPerSample[0]
	photoEntry, planarEntry                   int // offsets of those IFD entries, 0 if absent
	bigEndian                                 bool
	extra                                     []int // ExtraSamples
}

// TIFF tags and values used here.
const (
	tagCompression  = 259
	tagPhotometric  = 262
	tagSamples      = 277
	tagPlanar       = 284
	tagExtraSamples = 338
	tagT4Options    = 292
)

// parseTIFF reads the first IFD's tags (just the few above; the decoder
// validates the rest).
func parseTIFF(data []byte) (*tiffInfo, error) {
	if len(data) < 8 {
		return nil, errors.New("truncated TIFF header")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if data[0] == 'M' {
		bo = binary.BigEndian
	}
	if v := bo.Uint16(data[2:]); v == 43 {
		return nil, unsupportedFeature("BigTIFF (64-bit offsets)")
	} else if v != 42 {
		return nil, fmt.Errorf("TIFF version %d: %w", v, ErrUnsupported)
	}
	off := int64(bo.Uint32(data[4:]))
	if off < 8 || off+2 > int64(len(data)) {
		return nil, errors.New("TIFF IFD offset out of range")
	}
	n := int64(bo.Uint16(data[off:]))
	if off+2+12*n > int64(len(data)) {
		return nil, errors.New("truncated TIFF IFD")
	}
	t := &tiffInfo{compression: 1, planar: 1, samples: 1, bigEndian: data[0] == 'M'}
	for i := int64(0); i < n; i++ {
		e := data[off+2+12*i:]
		tag, typ, count := bo.Uint16(e), bo.Uint16(e[2:]), bo.Uint32(e[4:])
		val := func(k uint32) int { // SHORT or LONG values, inline or at an offset
			size := uint32(2)
			if typ == 4 {
				size = 4
			}
			p := e[8:12]
			if count*size > 4 {
				o := int64(bo.Uint32(e[8:]))
				if o+int64(count*size) > int64(len(data)) {
					return -1
				}
				p = data[o:]
			}
			if size == 4 {
				return int(bo.Uint32(p[4*k:]))
			}
			return int(bo.Uint16(p[2*k:]))
		}
		if (typ != 3 && typ != 4) || count == 0 {
			continue
		}
		switch tag {
		case tagCompression:
			t.compression = val(0)
		case tagPhotometric:
			t.photometric = val(0)
			t.photoEntry = int(off + 2 + 12*i)
		case 258: // BitsPerSample
			t.bits = val(0)
		case tagSamples:
			t.samples = val(0)
		case tagPlanar:
			t.planar = val(0)
			if typ == 3 && count == 1 {
				t.planarEntry = int(off + 2 + 12*i)
			}
		case tagT4Options:
			t.t4Options = val(0)
		case tagExtraSamples:
			for k := uint32(0); k < min(count, 8); k++ {
				t.extra = append(t.extra, val(k))
			}
		}
	}
	return t, nil
}

// unsupported names the TIFF features goclip refuses (Pillow opens them;
// golang.org/x/image/tiff does not, or not as libtiff does), or nil.
func (t *tiffInfo) unsupported() error {
	switch t.compression {
	case 6, 7:
		return unsupportedFeature("JPEG-compressed TIFF")
	case 2:
		return unsupportedFeature("CCITT modified Huffman (compression 2) TIFF")
	case 3:
		// x/image/ccitt reads 1-D Group 3 without fill bits only.
		if t.t4Options&1 != 0 {
			return unsupportedFeature("CCITT Group 3 2-D coding (T4Options bit 0)")
		}
		if t.t4Options&4 != 0 {
			return unsupportedFeature("CCITT Group 3 with fill bits before EOL (T4Options bit 2)")
		}
	}
	switch {
	case t.photometric == 5 && !t.cmykAsRGBA():
		return unsupportedFeature("CMYK (separated) TIFF other than 8-bit, 4 contiguous samples")
	case t.photometric == 6:
		return unsupportedFeature("YCbCr TIFF")
	case t.photometric > 6:
		return unsupportedFeature(fmt.Sprintf("TIFF photometric interpretation %d", t.photometric))
	case t.planar == 2 && t.samples > 1:
		return unsupportedFeature("planar TIFF (PlanarConfiguration 2)")
	case t.photometric <= 1 && t.samples == 2:
		return unsupportedFeature("greyscale+alpha TIFF")
	case t.photometric == 2 && t.samples == 4 && (len(t.extra) == 0 || t.extra[0] == 0):
		return unsupportedFeature("RGB TIFF with an unspecified extra sample")
	}
	return nil
}

// fixCCITT makes a CCITT Group 3/4 BlackIsZero image read as libtiff reads
// it. The fax codes describe white and black runs, which libtiff stores as
// 0 and 1 bits whatever the photometric interpretation says, so under
// BlackIsZero a "white" run shows black. golang.org/x/image/tiff only
// stores white runs as 0 for WhiteIsZero, so its BlackIsZero output is the
// negative of Pillow's.
func (t *tiffInfo) fixCCITT(img image.Image) {
	if (t.compression != 3 && t.compression != 4) || t.photometric != 1 {
		return
	}
	if g, ok := img.(*image.Gray); ok {
		for i, v := range g.Pix {
			g.Pix[i] = 255 - v
		}
	}
}

// cmykAsRGBA reports whether a CMYK TIFF can be read through
// x/image/tiff (which has no CMYK) by relabelling it: 8-bit, four
// contiguous samples, no extra samples, and a PlanarConfiguration entry
// (value 1) that can become ExtraSamples = 2, with the photometric
// interpretation set to RGB. The decoder then returns C, M, Y, K unchanged
// in an NRGBA's R, G, B, A.
func (t *tiffInfo) cmykAsRGBA() bool {
	return t.photometric == 5 && t.samples == 4 && t.bits == 8 && len(t.extra) == 0 &&
		t.planar == 1 && t.planarEntry != 0 && t.photoEntry != 0
}

// relabelCMYK returns a copy of data relabelled as cmykAsRGBA describes.
func (t *tiffInfo) relabelCMYK(data []byte) []byte {
	out := bytes.Clone(data)
	var bo binary.ByteOrder = binary.LittleEndian
	if t.bigEndian {
		bo = binary.BigEndian
	}
	bo.PutUint16(out[t.photoEntry+8:], 2) // RGB
	e := out[t.planarEntry:]
	bo.PutUint16(e, tagExtraSamples)
	bo.PutUint16(e[2:], 3) // SHORT
	bo.PutUint32(e[4:], 1)
	bo.PutUint32(e[8:], 0)
	bo.PutUint16(e[8:], 2) // unassociated alpha
	// Keep the IFD sorted by tag (entries are self-contained 12 bytes).
	off := int(bo.Uint32(out[4:]))
	n := int(bo.Uint16(out[off:]))
	ents := make([][12]byte, n)
	for i := range ents {
		copy(ents[i][:], out[off+2+12*i:])
	}
	sort.SliceStable(ents, func(i, j int) bool { return bo.Uint16(ents[i][:]) < bo.Uint16(ents[j][:]) })
	for i := range ents {
		copy(out[off+2+12*i:], ents[i][:])
	}
	return out
}

// cmykImage turns the relabelled decode back into CMYK samples, which
// sourceOf converts with Pillow's cmyk2rgb (Pillow reads TIFF CMYK as
// stored, rawmode "CMYK").
func cmykImage(img image.Image) (image.Image, error) {
	m, ok := img.(*image.NRGBA)
	if !ok {
		return nil, fmt.Errorf("CMYK TIFF decoded as %T", img)
	}
	return &image.CMYK{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}, nil
}
