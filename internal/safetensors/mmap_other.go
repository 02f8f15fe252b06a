//go:build !unix

package safetensors

// mapFile reads path into memory where memory mapping is not available.
func mapFile(path string) ([]byte, func() error, error) { return readFile(path) }

// dropPages is a no-op without memory mapping.
func dropPages(data []byte) {}
