//go:build unix

package clip

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/goclip/goclip/synth"
)

// BenchmarkImageTowerPrecision embeds 10 synthetic images with the
// full-size ViT-B/32 in each precision and reports images/s and images per
// CPU-second of the process: on a shared machine the CPU time is the
// steadier measure (run with -cpu 1 so that it is all compute):
//
//	go test -run X -bench ImageTowerPrecision -benchtime 3x -cpu 1 ./clip/
func BenchmarkImageTowerPrecision(b *testing.B) {
	dir := b.TempDir()
	if err := synth.WriteModel(dir, synth.B32(), 0); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const n = 10
	for _, p := range []Precision{F32, BF16, Int8} {
		b.Run(fmt.Sprintf("B32/batch%d/%s", n, p), func(b *testing.B) {
			m, err := Load(dir, &LoadOptions{Precision: p})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			px := synth.Tensor("bench.weight", []int{n, 3, m.ImageSize(), m.ImageSize()}, 1)
			if _, err := m.EmbedPixels(ctx, px); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			c0 := cpuSeconds()
			for b.Loop() {
				if _, err := m.EmbedPixels(ctx, px); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuSeconds() - c0
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
			b.ReportMetric(float64(n*b.N)/cpu, "images/cpu-s")
		})
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
