package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// benchShapes are CLIP's Linear layers as M×K×N (X[M,K]·Wᵀ, W [N,K]):
// ViT-B/32 (50 tokens per image; batch 1 and 10): QKV, out-proj, fc1, fc2;
// text tower (77 tokens per text; batch 1 and 10): the same at width 512.
var benchShapes = func() [][3]int {
	var s [][3]int
	for _, m := range []int{50, 500} {
		s = append(s, [3]int{m, 768, 2304}, [3]int{m, 768, 768}, [3]int{m, 768, 3072}, [3]int{m, 3072, 768})
	}
	for _, m := range []int{77, 770} {
		s = append(s, [3]int{m, 512, 1536}, [3]int{m, 512, 512}, [3]int{m, 512, 2048}, [3]int{m, 2048, 512})
	}
	return s
}()

func shapeName(s [3]int) string { return fmt.Sprintf("%dx%dx%d", s[0], s[1], s[2]) }

func gflops(b *testing.B, s [3]int) {
	b.ReportMetric(2*float64(s[0])*float64(s[1])*float64(s[2])*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm times Linear.Forward (packed weights, all workers).
func BenchmarkSgemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		m, k, n := s[0], s[1], s[2]
		l, _ := NewLinear(tw, randSlice(r, n*k), randSlice(r, n), n, k)
		x, dst := randSlice(r, m*k), make([]float32, m*n)
		b.Run(shapeName(s), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.Forward(tw, dst, x, m, ActNone)
			}
			gflops(b, s)
		})
	}
}

// BenchmarkSgemm1Core times the same products on one goroutine, for the
// per-core efficiency against BenchmarkPeakFMA.
func BenchmarkSgemm1Core(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		m, k, n := s[0], s[1], s[2]
		l, _ := NewLinear(tw, randSlice(r, n*k), randSlice(r, n), n, k)
		x, dst := randSlice(r, m*k), make([]float32, m*n)
		b.Run(shapeName(s), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g := gemmArgs{s: l.s, dst: dst, ldc: n, a: x, lda: k, b: l.packed, m: m, n: n, k: k, bias: l.b}
				g.setup()
				g.rect(0, m, 0, g.panels)
			}
			gflops(b, s)
		})
	}
}

// BenchmarkSgemmGonum times gonum's Sgemm on the same shapes.
func BenchmarkSgemmGonum(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		m, k, n := s[0], s[1], s[2]
		w, x, dst := randSlice(r, n*k), randSlice(r, m*k), make([]float32, m*n)
		b.Run(shapeName(s), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				blas32.Implementation().Sgemm(blas.NoTrans, blas.Trans, m, n, k, 1, x, k, w, k, 0, dst, n)
			}
			gflops(b, s)
		})
	}
}

// BenchmarkActivation times the activations over one fc1 output of
// ViT-B/32 at batch 1 (50×3072).
func BenchmarkActivation(b *testing.B) {
	x := randSlice(rand.New(rand.NewPCG(2, 2)), 50*3072)
	for _, a := range []struct {
		name string
		f    func([]float32)
	}{{"QuickGELU/50x3072", quickGELU}, {"GELU/50x3072", gelu}} {
		b.Run(a.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a.f(x)
			}
			b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
}
