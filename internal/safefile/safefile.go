// Package safefile opens and reads files named by untrusted folders (model
// folders, the Hub cache, datasets, user arguments) so that they cannot
// make a reader hang or exhaust memory: only regular files (after
// symbolic links are resolved) are opened — a FIFO, a device such as
// /dev/zero, a socket or a directory is refused without being opened — and
// small files are read up to a size limit.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Size limits for the small files of a model folder.
const (
	// MaxConfigBytes bounds JSON configuration files: config.json,
	// preprocessor_config.json, tokenizer_config.json,
	// special_tokens_map.json, model.safetensors.index.json (the largest
	// real ones are a few hundred kB).
	MaxConfigBytes = 16 << 20
	// MaxVocabBytes bounds tokenizer files: tokenizer.json, vocab.json,
	// merges.txt, spiece.model (Gemma's tokenizer.json is 33 MB).
	MaxVocabBytes = 256 << 20
)

// ErrNotRegular is wrapped by the errors of files that are not regular.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by the errors of files over their size limit.
var ErrTooLarge = errors.New("file larger than the limit")

// Open opens path for reading if it is a regular file. The error of
// anything else wraps ErrNotRegular (and is a *fs.PathError).
func Open(path string) (*os.File, fs.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, notRegular(path, st.Mode())
	}
	// Non-blocking, in case the file was swapped for a FIFO since the Stat.
	f, err := os.OpenFile(path, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, nil, err
	}
	st2, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st2.Mode().IsRegular() {
		f.Close()
		return nil, nil, notRegular(path, st2.Mode())
	}
	return f, st2, nil
}

func notRegular(path string, m fs.FileMode) error {
	kind := "special file"
	switch {
	case m.IsDir():
		kind = "directory"
	case m&fs.ModeNamedPipe != 0:
		kind = "named pipe"
	case m&fs.ModeCharDevice != 0:
		kind = "character device"
	case m&fs.ModeDevice != 0:
		kind = "device"
	case m&fs.ModeSocket != 0:
		kind = "socket"
	}
	return &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kind)}
}

// ReadFile reads a regular file of at most limit bytes. The error of a
// larger file wraps ErrTooLarge (and is a *fs.PathError).
func ReadFile(path string, limit int64) ([]byte, error) {
	f, st, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > limit {
		return nil, tooLarge(path, st.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(data)) > limit { // grew since the Stat
		return nil, tooLarge(path, int64(len(data)), limit)
	}
	return data, nil
}

func tooLarge(path string, size, limit int64) error {
	return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: %d bytes or more, the limit is %d", ErrTooLarge, size, limit)}
}
