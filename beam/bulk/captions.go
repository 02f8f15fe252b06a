package bulk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// MaxCaptionBytes bounds one line of a --captions file.
const MaxCaptionBytes = 64 << 10

// A captions file (Options.Captions) holds one caption per line, UTF-8,
// "\n" or "\r\n" line ends: line i is the caption of image i of the input
// in the pipeline's order (a folder's files sorted by path, as ListParts
// and ListFiles number them), an empty line an image without caption.
// This is clip-retrieval's order matching — its parquet reader embeds
// the caption column row by row, and its files reader pairs by position
// in one sorted listing — with the text in one plain file; every
// sidecar name.txt is ignored when a captions file is given. Only folder
// inputs take one (a WebDataset sample carries its caption in its .txt
// member, and shard sizes are not known before reading them).

// readCaptionLines calls fn with every line of the captions file, in
// order, with its index; fn returning false stops the read.
func readCaptionLines(ctx context.Context, name string, fn func(i int, line string) bool) error {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return fmt.Errorf("bulk: captions: %w", err)
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, name)
	if err != nil {
		return fmt.Errorf("bulk: captions: %w", err)
	}
	defer r.Close()
	br := bufio.NewReaderSize(r, MaxCaptionBytes)
	for i := 0; ; i++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("bulk: captions %s: line %d is longer than %d bytes", name, i+1, MaxCaptionBytes)
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("bulk: captions %s: %w", name, err)
		}
		if len(line) == 0 && err == io.EOF {
			return nil
		}
		if !fn(i, strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")) || err == io.EOF {
			return nil
		}
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// CountCaptions returns the number of lines of a captions file (local or
// on a Beam file system), for the check against the number of images.
func CountCaptions(ctx context.Context, name string) (int, error) {
	n := 0
	err := readCaptionLines(ctx, name, func(int, string) bool { n++; return true })
	return n, err
}

// partCaptions returns lines [start, start+count) of the captions file.
func partCaptions(ctx context.Context, name string, start, count int) ([]string, error) {
	lines := make([]string, 0, count)
	err := readCaptionLines(ctx, name, func(i int, line string) bool {
		if i >= start {
			lines = append(lines, line)
		}
		return i+1 < start+count
	})
	if err == nil && len(lines) != count {
		err = fmt.Errorf("bulk: captions %s: %d lines, the input has at least %d images", name, start+len(lines), start+count)
	}
	return lines, err
}

// CheckCaptions checks a captions file against the parts: folder parts
// only, and exactly one line per listed image.
func CheckCaptions(ctx context.Context, name string, parts []Part) error {
	images := 0
	for _, p := range parts {
		if p.Shard >= 0 {
			return fmt.Errorf("bulk: captions file %s: the input is WebDataset shards, whose samples carry their captions (.txt members)", name)
		}
		images += p.Count
	}
	n, err := CountCaptions(ctx, name)
	if err != nil {
		return err
	}
	if n != images {
		return fmt.Errorf("bulk: captions file %s has %d lines for %d images (one line per image, in the input's sorted order)", name, n, images)
	}
	return nil
}
