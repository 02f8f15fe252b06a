//go:build unix

package atomicfile

import (
	"errors"
	"os"
	"syscall"
)

// Lock takes an exclusive advisory lock (flock) on path, creating it, and
// returns the function that releases it. If another process (or another
// Lock in this one) holds it, the error wraps ErrLocked at once. The
// kernel releases the lock when the process dies, even by SIGKILL.
func Lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &os.PathError{Op: "lock", Path: path, Err: ErrLocked}
		}
		return nil, &os.PathError{Op: "lock", Path: path, Err: err}
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
