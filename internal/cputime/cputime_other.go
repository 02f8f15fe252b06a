//go:build !unix

// Package cputime reads the process's CPU time, which the benchmark
// commands report next to wall-clock rates: on a shared machine it is the
// steadier number.
package cputime

import "time"

// Process is not measured on this system: 0 (not reported).
func Process() time.Duration { return 0 }
