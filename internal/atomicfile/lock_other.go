//go:build !unix

package atomicfile

// Lock is a no-op where flock is not available: concurrent runs are not
// detected, and each file is still written atomically.
func Lock(path string) (unlock func(), err error) { return func() {}, nil }
