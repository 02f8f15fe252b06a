package dataset

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Sample is one image with its label. Image holds the encoded file bytes
// (decoding is the imageproc package's job).
type Sample struct {
	Key    string // WebDataset key ("s0000000") or the file path relative to the dataset root
	Format string // image extension, lower case: "webp", "png", "jpg", "jpeg", ...
	Image  []byte // encoded image
	Label  int    // class index (.cls or ImageFolder class); -1 when unlabelled
	Source string // shard or file the sample came from
	// Text and JSON are a WebDataset sample's .txt member (a caption, as
	// clip-retrieval and img2dataset write it) and .json member (metadata),
	// empty when absent; folder datasets leave them empty.
	Text string
	JSON []byte
}

// DefaultMaxImageBytes bounds one tar member or image file, so a corrupt
// header announcing a huge member fails instead of exhausting memory.
const DefaultMaxImageBytes = 64 << 20

// imageExts in CLIP_benchmark's preference order ("webp;png;jpg;jpeg"):
// when a sample has several, the first present wins.
var imageExts = []string{"webp", "png", "jpg", "jpeg"}

// FormatError reports a malformed shard or sample.
type FormatError struct {
	Shard string // shard name or path
	Key   string // sample key, when known
	Msg   string
	Err   error // underlying error (e.g. io.ErrUnexpectedEOF for a truncated shard)
}

func (e *FormatError) Error() string {
	s := "dataset: shard " + e.Shard
	if e.Key != "" {
		s += ", sample " + e.Key
	}
	s += ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }

// splitKey splits a member name like WebDataset's base_plus_ext: the key
// is the path up to the first dot of the base name, the extension the
// rest (lower-cased). ok is false for names without a dot in the base.
func splitKey(name string) (key, ext string, ok bool) {
	dir, base := path.Split(name)
	i := strings.IndexByte(base, '.')
	if i <= 0 {
		return "", "", false
	}
	return dir + base[:i], strings.ToLower(base[i+1:]), true
}

// walkShard streams the samples of one tar shard: consecutive members with
// the same key form a sample. want(i) says whether sample i (counting from
// 0 in this shard) is needed; the content of unwanted samples is skipped
// (seeked over when r is an io.Seeker) and fn is called only for wanted
// ones. It returns the number of samples in the shard. A sample without an
// image member is an error, as in CLIP_benchmark's to_tuple.
func walkShard(ctx context.Context, r io.Reader, shard string, maxBytes int64, want func(int) bool, fn func(int, Sample) error) (int, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxImageBytes
	}
	w := &shardWalk{shard: shard, maxBytes: maxBytes, want: want, fn: fn, pr: newPosReader(r)}
	tr := tar.NewReader(w.pr)
	var lastEnd int64 // offset just past the last member's padded data
	for {
		if err := ctx.Err(); err != nil {
			return w.n, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			if err := checkEnd(w.pr, lastEnd); err != nil {
				return w.n, &FormatError{Shard: shard, Msg: "truncated", Err: err}
			}
			break
		}
		if err != nil {
			return w.n, &FormatError{Shard: shard, Key: w.key, Msg: "reading tar header", Err: err}
		}
		if h.Size >= 0 {
			lastEnd = w.pr.offset() + (h.Size+511)/512*512
		}
		if err := w.member(tr, h); err != nil {
			return w.n, err
		}
	}
	return w.n, w.flush()
}

// shardWalk is the state of walkShard: the sample whose members are being
// read (members of one key are consecutive in a WebDataset shard).
type shardWalk struct {
	shard    string
	maxBytes int64
	want     func(int) bool
	fn       func(int, Sample) error
	pr       offsetReader
	n        int // samples started so far

	key    string
	open   bool
	images map[string][]byte
	label  int
	hasCls bool
	seen   map[string]bool
	text   string
	json   []byte
}

// member reads one tar member into the current sample, starting a new
// sample (and handing the finished one to fn) when its key changes.
func (w *shardWalk) member(tr *tar.Reader, h *tar.Header) error {
	if h.Typeflag != tar.TypeReg { // tar.Reader reports the old TypeRegA as TypeReg
		return nil
	}
	key, ext, ok := splitKey(h.Name)
	if !ok {
		return nil
	}
	if !w.open || key != w.key {
		if err := w.flush(); err != nil {
			return err
		}
		w.key, w.open, w.images, w.label, w.hasCls, w.seen = key, true, map[string][]byte{}, -1, false, map[string]bool{}
		w.text, w.json = "", nil
	}
	if w.seen[ext] {
		return &FormatError{Shard: w.shard, Key: key, Msg: "duplicate member ." + ext}
	}
	w.seen[ext] = true
	isImage := slices.Contains(imageExts, ext)
	if !w.want(w.n) || (!isImage && ext != "cls" && ext != "txt" && ext != "json") {
		return nil // tar.Reader skips the content on the next Next
	}
	if h.Size < 0 || h.Size > w.maxBytes {
		return &FormatError{Shard: w.shard, Key: key, Msg: fmt.Sprintf("member %s is %d bytes, over the %d-byte limit", h.Name, h.Size, w.maxBytes)}
	}
	b, err := readMember(tr, h.Size)
	if err != nil {
		return &FormatError{Shard: w.shard, Key: key, Msg: "reading " + h.Name, Err: err}
	}
	switch {
	case isImage:
		w.images[ext] = b
		return nil
	case ext == "txt":
		w.text = string(b)
		return nil
	case ext == "json":
		w.json = b
		return nil
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || v < 0 {
		return &FormatError{Shard: w.shard, Key: key, Msg: fmt.Sprintf("label %q is not a non-negative integer", b)}
	}
	w.label, w.hasCls = v, true
	return nil
}

// readMember reads a member of size bytes. Memory grows with the bytes
// that actually arrive (from 1 MiB, doubling), so a truncated shard whose
// header announces a 64 MiB member costs what it holds, not 64 MiB.
func readMember(r io.Reader, size int64) ([]byte, error) {
	b := make([]byte, 0, min(size, 1<<20))
	for int64(len(b)) < size {
		if len(b) == cap(b) {
			b = slices.Grow(b, int(min(size, 2*int64(cap(b))))-len(b))
		}
		n, err := r.Read(b[len(b):min(int64(cap(b)), size)])
		b = b[:len(b)+n]
		if err != nil && int64(len(b)) < size {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return b, nil
}

// flush hands the current sample, if wanted, to fn.
func (w *shardWalk) flush() error {
	if !w.open {
		return nil
	}
	w.open = false
	i := w.n
	w.n++
	if !w.want(i) {
		return nil
	}
	s := Sample{Key: w.key, Label: -1, Source: w.shard}
	for _, e := range imageExts {
		if b, ok := w.images[e]; ok {
			s.Format, s.Image = e, b
			break
		}
	}
	if s.Image == nil {
		return &FormatError{Shard: w.shard, Key: w.key, Msg: "no image member (.webp, .png, .jpg or .jpeg)"}
	}
	if w.hasCls {
		s.Label = w.label
	}
	s.Text, s.JSON = w.text, w.json
	return w.fn(i, s)
}

// ReadShard calls fn for every sample of one WebDataset tar shard, in
// order, reading members without unpacking; name is used in errors.
// Memory holds one sample at a time.
func ReadShard(ctx context.Context, r io.Reader, name string, fn func(Sample) error) error {
	_, err := walkShard(ctx, r, name, 0, func(int) bool { return true }, func(_ int, s Sample) error { return fn(s) })
	return err
}

// posReader tracks the offset tar.Reader has reached, so the end of the
// archive can be checked: archive/tar takes a shard cut exactly at a
// member boundary (or inside the last member's padding) for a clean end.
type posReader struct {
	r   io.Reader
	pos int64
}

func (p *posReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.pos += int64(n)
	return n, err
}

func (p *posReader) offset() int64 { return p.pos }

// posSeeker adds Seek, so tar.Reader skips unwanted content by seeking.
type posSeeker struct{ *posReader }

func (p posSeeker) Seek(off int64, whence int) (int64, error) {
	n, err := p.r.(io.Seeker).Seek(off, whence)
	if err == nil {
		p.pos = n
	}
	return n, err
}

type offsetReader interface {
	io.Reader
	offset() int64
}

func newPosReader(r io.Reader) offsetReader {
	p := &posReader{r: r}
	if s, ok := r.(io.Seeker); ok {
		if cur, err := s.Seek(0, io.SeekCurrent); err == nil {
			p.pos = cur
			return posSeeker{p}
		}
	}
	return p
}

// checkEnd requires at least one 512-byte end-of-archive block after the
// last member (POSIX asks for two; every tar writer emits them).
func checkEnd(r offsetReader, lastEnd int64) error {
	total := r.offset()
	if s, ok := r.(posSeeker); ok {
		if n, err := s.r.(io.Seeker).Seek(0, io.SeekEnd); err == nil {
			total = n
		}
	}
	if total < lastEnd+512 {
		return fmt.Errorf("%w: archive ends at byte %d, inside or right after the member ending at %d, with no end-of-archive block", io.ErrUnexpectedEOF, total, lastEnd)
	}
	return nil
}
