//go:build race

package tensor

// raceEnabled: the race detector makes sync.Pool drop items at random on
// purpose, so allocation counts are meaningless under -race.
const raceEnabled = true
