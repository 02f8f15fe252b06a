//go:build !purego

package tensor

import (
	"runtime"
	"sync"
	"testing"
)

// BenchmarkPeakFMA measures the float32 FMA throughput of this CPU with
// register-only loops (no memory traffic): the ceiling for the GEMM
// kernels. "1core" runs one goroutine; "allcores" one per GOMAXPROCS.
func BenchmarkPeakFMA(b *testing.B) {
	const iters = 1 << 16
	for _, v := range []struct {
		name  string
		ok    bool
		f     func(int)
		flops float64 // per iteration
	}{
		{"avx512", hasAVX512, peakFMAAVX512, 24 * 16 * 2},
		{"avx2", hasAVX2, peakFMAAVX2, 14 * 8 * 2},
	} {
		if !v.ok {
			continue
		}
		b.Run(v.name+"/1core", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v.f(iters)
			}
			b.ReportMetric(v.flops*iters*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(v.name+"/allcores", func(b *testing.B) {
			p := runtime.GOMAXPROCS(0)
			for b.Loop() {
				var wg sync.WaitGroup
				for range p {
					wg.Add(1)
					go func() { v.f(iters); wg.Done() }()
				}
				wg.Wait()
			}
			b.ReportMetric(v.flops*iters*float64(p*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
