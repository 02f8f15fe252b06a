//go:build !purego

package tensor

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkPeakFMA measures the float32 FMA throughput of this CPU with
// register-only loops (no memory traffic): the ceiling for the GEMM
// kernels. "1core" runs one goroutine; "allcores" one per GOMAXPROCS.
// The int8 loops count a multiply-add as 2 operations (GOP/s, comparable
// with GFLOP/s): "int8-vpmaddwd" is the exact idiom of the AVX2 qgemm
// kernels, "int8-vpmaddubsw" the int16-saturating one.
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
		{"int8-vpmaddwd", hasAVX2, peakMaddAVX2, 12 * 16 * 2},
		{"int8-vpmaddubsw", hasAVX2, peakMaddubsAVX2, 12 * 32 * 2},
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

// BenchmarkSgemmEfficiency reports the GEMM speed as a percentage of the
// FMA peak measured in the same loop: each iteration runs the
// register-only FMA loop for the GEMM's FLOP count and then the GEMM, so
// that load from other processes on the shared cores hits both alike.
// "%peak" is time(peak loop)/time(GEMM)·100; "1core" times the kernel on
// one goroutine, "allcores" Linear.Forward on all of tw against the peak
// loop on as many goroutines (the "two-core FMA peak"). Only
// meaningful on a quiet machine.
func BenchmarkSgemmEfficiency(b *testing.B) {
	peak, flops := peakFMAAVX2, 14*8*2 // the kernels' own vector width
	if hasAVX512 {
		peak, flops = peakFMAAVX512, 24*16*2
	}
	if !hasAVX2 {
		b.Skip("needs AVX2 or AVX-512")
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		m, k, n := s[0], s[1], s[2]
		l, _ := NewLinear(tw, randSlice(r, n*k), randSlice(r, n), n, k)
		x, dst := randSlice(r, m*k), make([]float32, m*n)
		iters := int(2 * float64(m*k*n) / float64(flops))
		// 1core: the kernel alone on one goroutine; allcores: Forward on
		// all of tw against the peak loop on as many goroutines.
		for _, all := range []bool{false, true} {
			name := shapeName(s) + "/1core"
			if all {
				name = shapeName(s) + "/allcores"
			}
			b.Run(name, func(b *testing.B) {
				var tp, tg time.Duration
				for b.Loop() {
					t0 := time.Now()
					if all {
						var wg sync.WaitGroup
						for range tw.N() {
							wg.Add(1)
							go func() { peak(iters / tw.N()); wg.Done() }()
						}
						wg.Wait()
					} else {
						peak(iters)
					}
					t1 := time.Now()
					if all {
						l.Forward(tw, dst, x, m, ActNone)
					} else {
						g := gemmArgs{s: l.s, dst: dst, ldc: n, a: x, lda: k, b: l.packed, m: m, n: n, k: k, bias: l.b}
						g.setup()
						g.rect(0, m, 0, g.panels)
					}
					tp += t1.Sub(t0)
					tg += time.Since(t1)
				}
				b.ReportMetric(100*tp.Seconds()/tg.Seconds(), "%peak")
			})
		}
	}
}
