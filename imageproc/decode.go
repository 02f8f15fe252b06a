package imageproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/goclip/goclip/imageproc/internal/jpeg"
	"github.com/goclip/goclip/internal/safefile"
)

// DefaultMaxPixels is Pillow's Image.MAX_IMAGE_PIXELS, the default
// decompression-bomb limit (1024*1024*1024/4/3 pixels).
const DefaultMaxPixels = 89_478_485

// DefaultMaxBytes bounds how much of a reader Decode reads (256 MiB).
const DefaultMaxBytes = 256 << 20

// DecodeOptions tune Decode. A nil *DecodeOptions means the defaults.
type DecodeOptions struct {
	// MaxPixels refuses images whose header declares more pixels than this,
	// before decoding them. 0 means DefaultMaxPixels; negative means no limit.
	// (Pillow warns above its limit and refuses above twice it; this refuses
	// above it.)
	MaxPixels int64
	// MaxBytes refuses inputs longer than this. 0 means DefaultMaxBytes;
	// negative means no limit.
	MaxBytes int64
	// MaxAspect refuses images whose longer side is more than MaxAspect
	// times the shorter one, before decoding them. 0 means
	// DefaultMaxAspect; negative means no limit.
	MaxAspect int64
	// DecodeBudget bounds the bytes of decoded pixels (and encoded input)
	// that a Processor's concurrent decodes hold at once; a decode waits
	// until its image fits, and an image larger than the whole budget runs
	// alone. 0 means DefaultDecodeBudget; negative means no limit. Decode
	// and DecodeFile, which return the image, do not use it.
	DecodeBudget int64
	// Name identifies the input in error messages (DecodeFile sets the path).
	Name string
	// DropAlpha selects transformers 4's conversion: transparency is
	// dropped as Pillow's Image.open(f).convert("RGB") does, so the colour
	// stored under a transparent pixel shows. The default (false) is
	// transformers 5's convert_to_rgb, which CLIPImageProcessor applies to
	// Image.open(f): an image with an alpha band (RGBA and grey+alpha PNG,
	// WebP with alpha, TIFF with associated or unassociated alpha) or with
	// a transparent colour (tRNS in a palette, greyscale or RGB PNG, a GIF's
	// transparent index) is composited onto Background with
	// Image.alpha_composite's integer arithmetic.
	DropAlpha bool
	// Background is the colour transparency is composited onto (its alpha
	// is ignored); nil means white, as transformers 5 does. The Python
	// equivalent of another colour c is
	// Image.alpha_composite(Image.new("RGBA", im.size, c), im.convert("RGBA")).convert("RGB").
	Background color.Color

	openCLIP   bool // sources carry their Pillow mode (NewOpenCLIP processors)
	wholePNG16 bool // tests: decode 16-bit PNGs with image/png, not decodePNG16
}

// Errors that Decode wraps in a *DecodeError, for errors.Is.
var (
	ErrUnsupported = errors.New("unsupported image format (want JPEG, PNG, GIF, WebP, BMP or TIFF)")
	ErrEmpty       = errors.New("empty input")
	ErrTooLarge    = errors.New("image exceeds the decompression-bomb limit")
	// ErrUnsupportedFeature: the format is supported but the file uses a
	// feature goclip does not decode exactly as Pillow does (the error
	// names it), such as arithmetic-coded JPEG or JPEG-compressed TIFF.
	ErrUnsupportedFeature = errors.New("unsupported feature")
)

// unsupportedFeature wraps ErrUnsupportedFeature with the feature's name.
func unsupportedFeature(name string) error {
	return fmt.Errorf("%w: %s", ErrUnsupportedFeature, name)
}

// DecodeError reports an input that could not be decoded: empty,
// truncated, corrupt, unsupported or over the limits.
type DecodeError struct {
	Name   string // the file name, or "<input>"
	Format string // "jpeg", "png", ... when known
	Err    error
}

func (e *DecodeError) Error() string {
	if e.Format != "" {
		return fmt.Sprintf("imageproc: %s: decoding %s: %v", e.Name, e.Format, e.Err)
	}
	return fmt.Sprintf("imageproc: %s: %v", e.Name, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Decode reads an image and returns its 8-bit RGB pixels as
// CLIPImageProcessor (transformers 5) converts Image.open(f): JPEG with
// libjpeg-turbo's islow inverse DCT (a fork of Go's decoder, internal/jpeg),
// fancy chroma upsampling and fixed-point colour conversion; lossy WebP with
// libwebp's fancy upsampler and 14-bit BT.601 conversion; PNG, GIF, BMP,
// TIFF and lossless WebP as stored. Transparency is composited onto white
// (see DecodeOptions.DropAlpha for transformers 4's Image.convert("RGB"),
// and Background), palettes are looked up, 16-bit samples keep their high
// byte (16-bit greyscale clips at 255, as Pillow's I;16 conversion does),
// TIFF associated alpha is un-premultiplied as Pillow's "RGBa" unpacker
// does, GIF gives its first frame on the logical screen. EXIF orientation is
// not applied (Pillow's open does not either).
func Decode(r io.Reader, opts *DecodeOptions) (*RGB, error) {
	src, release, err := decodeSource(r, opts, nil)
	if err != nil {
		return nil, err
	}
	defer release()
	return materialize(src), nil
}

// DecodeFile is Decode on the file at path; errors name the path.
func DecodeFile(path string, opts *DecodeOptions) (*RGB, error) {
	f, _, err := safefile.Open(path) // regular files only: a FIFO would block
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Decode(f, withName(opts, path))
}

func withName(opts *DecodeOptions, name string) *DecodeOptions {
	o := DecodeOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = name
	}
	return &o
}

// sniff names the format from the first bytes.
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webp"
	case bytes.HasPrefix(b, []byte("BM")):
		return "bmp"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")),
		bytes.HasPrefix(b, []byte("II+\x00")), bytes.HasPrefix(b, []byte("MM\x00+")): // classic and BigTIFF
		return "tiff"
	}
	return ""
}

// decodeSource decodes r into a row source (planes kept where the
// conversion can run row by row). The decode is admitted by b (nil: no
// budget) once the header is read; the caller calls release when done with
// the source (also after an error: release is never nil).
func decodeSource(r io.Reader, opts *DecodeOptions, b *budget) (src rowSource, release func(), err error) {
	release = func() {}
	src, err = decodeAdmitted(r, opts, b, &release)
	if err != nil {
		release()
		release = func() {}
	}
	return src, release, err
}

// decodeAdmitted reads, sniffs and size-checks the input, takes its share
// of the decode budget (setting *release), then decodes it to a rowSource.
func decodeAdmitted(r io.Reader, opts *DecodeOptions, b *budget, release *func()) (rowSource, error) {
	o := DecodeOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = "<input>"
	}
	fail := func(format string, err error) error { return &DecodeError{Name: o.Name, Format: format, Err: err} }
	data, err := readInput(r, o.MaxBytes)
	if err != nil {
		return nil, fail("", err)
	}
	format := sniff(data)
	if format == "" {
		return nil, fail("", ErrUnsupported)
	}
	data, tiffInf, err := prepareContainer(format, data, &o)
	if err != nil {
		return nil, fail(format, err)
	}
	cfg, err := safeDecodeConfig(format, data)
	if err != nil {
		return nil, fail(format, featureError(err))
	}
	if err := admitSize(cfg, &o); err != nil {
		return nil, fail(format, err)
	}
	*release = b.acquire(int64(len(data)) + decodedBytes(cfg))
	img, data, key, err := decodePixels(format, data, tiffInf, o.wholePNG16)
	if err != nil {
		return nil, fail(format, err)
	}
	src, err := formatSource(format, img, data, cfg, key, &o)
	if err != nil {
		return nil, fail(format, err)
	}
	if o.openCLIP {
		src = &modeSource{src, modeOfImage(img, format, data, tiffInf)}
	}
	return src, nil
}

// readInput reads all of r, at most maxBytes of it (0 means
// DefaultMaxBytes, negative means no limit); empty input is an error.
func readInput(r io.Reader, maxBytes int64) ([]byte, error) {
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	var data []byte
	var err error
	if maxBytes > 0 {
		data, err = io.ReadAll(io.LimitReader(r, maxBytes+1))
		if err == nil && int64(len(data)) > maxBytes {
			return nil, fmt.Errorf("%w: input longer than %d bytes", ErrTooLarge, maxBytes)
		}
	} else {
		data, err = io.ReadAll(r)
	}
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, ErrEmpty
	}
	return data, nil
}

// prepareContainer handles the container quirks before the standard
// decoders see the data: an animated WebP is cut to its first frame (and
// o.DropAlpha set as Pillow would), a TIFF is parsed, refused if it uses an
// unsupported feature, and its CMYK relabelled for the RGBA decoder.
func prepareContainer(format string, data []byte, o *DecodeOptions) ([]byte, *tiffInfo, error) {
	switch format {
	case "webp":
		still, anim, err := webpFirstFrame(data)
		if err != nil {
			return nil, nil, err
		}
		if anim {
			// Pillow's mode comes from the animation's VP8X alpha flag.
			if !webpHasAlpha(data) {
				o.DropAlpha = true
			}
			data = still
		}
	case "tiff":
		tiffInf, err := parseTIFF(data)
		if err == nil {
			err = tiffInf.unsupported()
		}
		if err != nil {
			return nil, nil, err
		}
		if tiffInf.cmykAsRGBA() {
			data = tiffInf.relabelCMYK(data)
		}
		return data, tiffInf, nil
	}
	return data, nil, nil
}

// admitSize refuses empty, too large (o.MaxPixels, 0 means
// DefaultMaxPixels) or too elongated images before any pixel is decoded.
func admitSize(cfg image.Config, o *DecodeOptions) error {
	maxPix := o.MaxPixels
	if maxPix == 0 {
		maxPix = DefaultMaxPixels
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fmt.Errorf("invalid size %dx%d", cfg.Width, cfg.Height)
	}
	if maxPix > 0 && int64(cfg.Width)*int64(cfg.Height) > maxPix {
		return fmt.Errorf("%w: %dx%d is more than %d pixels", ErrTooLarge, cfg.Width, cfg.Height, maxPix)
	}
	return checkAspect(cfg.Width, cfg.Height, maxAspect(o))
}

// decodePixels decodes data, first stripping a PNG tRNS colour key (returned
// as key, with the data actually decoded) and afterwards applying the TIFF
// CCITT and CMYK fix-ups. A 16-bit colour PNG is decoded row by row to 8
// bits (decodePNG16) unless whole16; image/png decodes what that refuses.
func decodePixels(format string, data []byte, tiffInf *tiffInfo, whole16 bool) (image.Image, []byte, *[3]uint8, error) {
	var key *[3]uint8
	if format == "png" {
		stripped, k, ok, err := pngKey(data)
		if err != nil {
			return nil, nil, nil, err
		}
		if ok {
			data, key = stripped, &k
		}
		if !whole16 && png16Type(data) >= 0 {
			if img, err := decodePNG16(data); err == nil {
				return img, data, key, nil
			}
		}
	}
	img, err := safeDecode(format, data)
	if err != nil {
		return nil, nil, nil, err
	}
	if b := img.Bounds(); b.Empty() {
		return nil, nil, nil, fmt.Errorf("empty image %v", b)
	}
	if tiffInf != nil {
		tiffInf.fixCCITT(img)
		if tiffInf.cmykAsRGBA() {
			if img, err = cmykImage(img); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	return img, data, key, nil
}

// formatSource turns a decoded image into RGB rows the way Pillow opens
// that format, compositing transparency unless o.DropAlpha.
func formatSource(format string, img image.Image, data []byte, cfg image.Config, key *[3]uint8, o *DecodeOptions) (rowSource, error) {
	composite, bg := !o.DropAlpha, bgColour(o)
	switch m := img.(type) {
	case *image.YCbCr:
		if format == "webp" {
			if s := newWebPSource(m); s != nil {
				return s, nil
			}
			return nil, errors.New("unexpected lossy WebP layout")
		}
	case *image.NYCbCrA:
		if format == "webp" {
			s := newWebPSource(&m.YCbCr)
			if s == nil {
				return nil, errors.New("unexpected lossy WebP layout")
			}
			if composite {
				return alphaSource(m, s, bg), nil
			}
			return s, nil
		}
	case *image.Paletted:
		if format == "gif" {
			trans := fixGIFPalette(m, data)
			img = gifCanvas(m, cfg.Width, cfg.Height, trans)
			if composite && trans >= 0 && trans < len(m.Palette) {
				// Pillow: info["transparency"] = index; P -> RGBA gives
				// that index alpha 0.
				c := straightRGB(m.Palette[trans])
				m.Palette[trans] = color.NRGBA{c[0], c[1], c[2], 0}
			}
		}
	case *image.NRGBA:
		if format == "webp" && !webpHasAlpha(data) {
			composite = false // Pillow opens it as RGB
		}
	case *image.RGBA, *image.RGBA64:
		// Opaque RGB everywhere except TIFF associated alpha (and
		// in-memory images), which Pillow un-premultiplies.
		if format != "tiff" {
			composite = false
		}
	}
	if key != nil && !o.DropAlpha {
		return &keySource{rowSource: sourceOf(img), key: *key, bg: bg}, nil
	}
	if !composite {
		return sourceOf(img), nil
	}
	if s := alphaSource(img, nil, bg); s != nil {
		return s, nil
	}
	return sourceOf(img), nil
}

// safeDecodeConfig reads the header, turning a decoder panic into an error.
func safeDecodeConfig(format string, data []byte) (cfg image.Config, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt header (decoder panicked: %v)", p)
		}
	}()
	r := bytes.NewReader(data)
	switch format {
	case "jpeg":
		return jpeg.DecodeConfig(r)
	case "png":
		return png.DecodeConfig(r)
	case "gif":
		return gif.DecodeConfig(r)
	case "webp":
		return webp.DecodeConfig(r)
	case "bmp":
		b, err := parseBMP(data)
		if err != nil || b != nil {
			if b == nil {
				return image.Config{}, err
			}
			return image.Config{ColorModel: color.RGBAModel, Width: b.w, Height: b.h}, nil
		}
		return bmp.DecodeConfig(r)
	case "tiff":
		return tiff.DecodeConfig(r)
	}
	return image.Config{}, ErrUnsupported
}

// safeDecode decodes, turning a decoder panic into an error.
func safeDecode(format string, data []byte) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("corrupt data (decoder panicked: %v)", p)
		}
	}()
	r := bytes.NewReader(data)
	switch format {
	case "jpeg":
		img, err = jpeg.Decode(r)
	case "png":
		img, err = png.Decode(r)
	case "gif":
		img, err = gif.Decode(r)
	case "webp":
		img, err = webp.Decode(r)
	case "bmp":
		var b *bmpInfo
		if b, err = parseBMP(data); b != nil {
			img, err = b.decode(data)
		} else if err == nil {
			img, err = bmp.Decode(r)
		}
	case "tiff":
		img, err = tiff.Decode(r)
	default:
		err = ErrUnsupported
	}
	if err == nil && img == nil {
		err = errors.New("decoder returned no image")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = fmt.Errorf("truncated file: %w", err)
	}
	return img, featureError(err)
}

// featureError wraps the decoders' "unsupported feature" errors in
// ErrUnsupportedFeature.
func featureError(err error) error {
	var je jpeg.UnsupportedError
	var te tiff.UnsupportedError
	if errors.As(err, &je) {
		return unsupportedFeature(string(je))
	} else if errors.As(err, &te) {
		return unsupportedFeature(string(te))
	}
	return err
}
