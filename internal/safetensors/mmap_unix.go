//go:build unix

package safetensors

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/goclip/goclip/internal/safefile"
)

// mapFile memory-maps path read-only; the returned func unmaps it.
func mapFile(path string) ([]byte, func() error, error) {
	// Only a regular file (links resolved): a FIFO would block and a link
	// to /dev/zero would be read until memory runs out.
	f, fi, err := safefile.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	size := fi.Size()
	if size == 0 {
		return nil, nil, nil
	}
	if int64(int(size)) != size {
		return nil, nil, fmt.Errorf("%s: file too large to map (%d bytes)", path, size)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return readFile(path)
	}
	return data, func() error { return unix.Munmap(data) }, nil
}

// dropPages tells the kernel the mapped pages are not needed now: they
// leave the process's resident set (the file stays in the page cache and
// pages fault back in on access). Used after packed copies have been made.
func dropPages(data []byte) {
	if len(data) > 0 {
		_ = unix.Madvise(data, unix.MADV_DONTNEED)
	}
}
