//go:build !unix

package hub

// oNoFollow is unavailable: openNoFollow checks with Lstat instead.
const oNoFollow = 0
