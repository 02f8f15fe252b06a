//go:build unix

package tensor

import "syscall"

// cpuSeconds is the user+system CPU time of the process so far: on a
// shared machine the CPU time a benchmark used is steadier than its wall
// time (which includes waiting for other processes).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
