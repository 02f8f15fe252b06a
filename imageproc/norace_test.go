//go:build !race

package imageproc

// timeScale widens the time bounds of the bomb tests (see race_test.go).
const timeScale = 1
