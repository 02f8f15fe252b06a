package imageproc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
)

// tiffInfo is what goclip needs from a TIFF's first IFD before handing the
// file to golang.org/x/image/tiff: features that package would reject with a
// vague message or decode differently from Pillow (libtiff).
type tiffInfo struct {
	compression, photometric, planar, samples int
	t4Options                                 int
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
	t := &tiffInfo{compression: 1, planar: 1, samples: 1}
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
		case tagSamples:
			t.samples = val(0)
		case tagPlanar:
			t.planar = val(0)
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
	case t.photometric == 5:
		return unsupportedFeature("CMYK (separated) TIFF")
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
