//go:build race

package imageproc

// timeScale widens the time bounds of the bomb tests: the race detector
// makes this code 5–20× slower (measured: 1.9 s → 14 s for a 1×10000
// PNG on a loaded 2-core machine), and the bounds exist to catch work
// proportional to the full resized width, which is 1,000× more.
const timeScale = 20
