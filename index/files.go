package index

import (
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// MaxImageBytes bounds one image file read by Files.
const MaxImageBytes = 64 << 20

// imageExts are the file extensions Files picks up (the formats package
// imageproc decodes).
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".gif": true,
	".webp": true, ".bmp": true, ".tif": true, ".tiff": true}

// IsImageName reports whether a file name has an image extension Files
// indexes.
func IsImageName(name string) bool { return imageExts[strings.ToLower(filepath.Ext(name))] }

// Files walks the folders recursively, in lexical order, and yields every
// image file (by extension) with its bytes; IDs and paths are absolute.
// Symbolic links to folders are not followed. A file that cannot be read
// yields an *ItemError (Build skips it); a root that cannot be walked ends
// the sequence with its error.
func Files(roots []string) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		for _, root := range roots {
			abs, err := filepath.Abs(root)
			if err != nil {
				yield(Item{}, err)
				return
			}
			stop := false
			err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					if p == abs {
						return err
					}
					if !yield(Item{}, &ItemError{p, err}) {
						stop = true
						return fs.SkipAll
					}
					return nil
				}
				if d.IsDir() || !IsImageName(p) {
					return nil
				}
				it, err := readItem(p)
				if !yield(it, err) {
					stop = true
					return fs.SkipAll
				}
				return nil
			})
			if stop {
				return
			}
			if err != nil {
				yield(Item{}, fmt.Errorf("index: %w", err))
				return
			}
		}
	}
}

func readItem(p string) (Item, error) {
	f, err := os.Open(p)
	if err != nil {
		return Item{}, &ItemError{p, err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Item{}, &ItemError{p, err}
	}
	if !st.Mode().IsRegular() {
		return Item{}, &ItemError{p, fmt.Errorf("not a regular file")}
	}
	if st.Size() > MaxImageBytes {
		return Item{}, &ItemError{p, fmt.Errorf("%d bytes, more than the %d allowed", st.Size(), MaxImageBytes)}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxImageBytes+1))
	if err != nil {
		return Item{}, &ItemError{p, err}
	}
	if len(data) > MaxImageBytes {
		return Item{}, &ItemError{p, fmt.Errorf("grew past %d bytes while read", MaxImageBytes)}
	}
	return Item{Record: Record{ID: p, Path: p, Label: -1, MTime: st.ModTime().UTC().Format(time.RFC3339Nano)}, Data: data}, nil
}
