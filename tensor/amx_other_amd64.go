//go:build !purego && !linux

package tensor

// amxPermitted: the tile data state is requested only on Linux (other
// systems' kernels manage it differently), so AMX is not used elsewhere.
func amxPermitted() bool { return false }
