// Package atomicfile writes output files so that a reader, a crash or a
// SIGKILL never sees or leaves a partial file: the content goes to a
// uniquely named temporary file in the destination's folder, is synced,
// and is renamed over the destination only when complete. Two writers of
// one destination never share a temporary file; the last rename wins.
// Lock serialises whole runs that write a set of files.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// tempMarker is in the name of every temporary file: ".<base>.tmp-<random>".
const tempMarker = ".tmp-"

// Perm is the mode of the files written: 0644, what os.Create gives with
// the usual umask 022 (set with Chmod, so the umask does not apply).
const Perm = 0o644

// File is a temporary file that becomes the destination on Commit.
type File struct {
	*os.File
	path string
	done bool
}

// Create starts writing path: a new temporary file in path's folder.
func Create(path string) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+strings.TrimPrefix(base, ".")+tempMarker+"*")
	if err != nil {
		return nil, err
	}
	return &File{File: f, path: path}, nil
}

// Commit syncs and closes the temporary file and renames it over the
// destination. On error the temporary file is removed.
func (f *File) Commit() error { return f.CommitAs(f.path) }

// CommitAs is Commit to another name in the same folder (for names that
// depend on the content, such as a hash).
func (f *File) CommitAs(path string) error {
	if f.done {
		return errors.New("atomicfile: already committed or aborted")
	}
	f.done = true
	err := f.Chmod(Perm)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Abort closes and removes the temporary file; the destination is left as
// it was. It does nothing after Commit, so it can be deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.Name())
}

// Write writes path atomically with the content fn writes (buffered).
func Write(path string, fn func(io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fn(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}

// WriteFile writes data to path atomically.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error { _, err := w.Write(data); return err })
}

// IsTemp reports whether a file name is one of this package's temporary
// files (left behind only by a killed process), for cleanups.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempMarker)
}

// ErrLocked is wrapped by Lock's error when another holder has the lock.
var ErrLocked = errors.New("in use by another process")
