package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkLinearPrecision compares one ViT-B/32 MLP product (fc1: 1,600
// rows = 32 images, 768 → 3072; fc2: 3072 → 768) in each precision.
func BenchmarkLinearPrecision(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, sh := range []struct{ m, n, k int }{{1600, 3072, 768}, {1600, 768, 3072}, {50, 2304, 768}} {
		w, bias := randSlice(r, sh.n*sh.k), randSlice(r, sh.n)
		x, dst := randSlice(r, sh.m*sh.k), make([]float32, sh.m*sh.n)
		wk := NewWorkers(0)
		for _, p := range []Precision{F32, BF16, Int8} {
			b.Run(fmt.Sprintf("%dx%dx%d/%v", sh.m, sh.n, sh.k, p), func(b *testing.B) {
				var fwd func()
				if p == F32 {
					l, _ := NewLinear(wk, w, bias, sh.n, sh.k)
					fwd = func() { l.Forward(wk, dst, x, sh.m, ActNone) }
				} else {
					l, err := newLowp(wk, p, [][]float32{w}, [][]float32{bias}, sh.n, sh.k, 0, nil)
					if err != nil {
						b.Fatal(err)
					}
					fwd = func() { l.forward(wk, dst, x, sh.m, ActNone, false) }
				}
				fwd()
				b.ResetTimer()
				c0 := cpuSeconds()
				for i := 0; i < b.N; i++ {
					fwd()
				}
				cpu := cpuSeconds() - c0
				b.ReportMetric(float64(2*sh.m*sh.n*sh.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				if cpu > 0 {
					b.ReportMetric(float64(2*sh.m*sh.n*sh.k)*float64(b.N)/cpu/1e9, "GFLOP/cpu-s")
				}
			})
		}
	}
}
