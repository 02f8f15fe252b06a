package clip

import (
	"context"
	"fmt"
	"testing"

	"github.com/goclip/goclip/synth"
)

// The per-tower benchmarks of BENCHMARKS.md, named by shape:
//
//	go test -run X -bench 'Tower' -benchtime 10x ./clip/ | benchstat -
//
// BenchmarkImageTower/B32/batchN embeds N synthetic 224×224 images with
// the full-size ViT-B/32 (synthetic weights: the speed is that of any B/32
// checkpoint) and reports images/s; BenchmarkTextTower/B32/batchN embeds N
// real prompts "a photo of a {class}." (8–12 tokens) and reports texts/s.
// Allocations per op are those of the returned embeddings and the call's
// bookkeeping: the activations come from pools.

func BenchmarkImageTower(b *testing.B) {
	m := benchModel(b, synth.B32())
	s := m.ImageSize()
	ctx := context.Background()
	for _, n := range []int{1, 10, 64} {
		px := synth.Tensor("bench.weight", []int{n, 3, s, s}, 1)
		b.Run(fmt.Sprintf("B32/batch%d", n), func(b *testing.B) {
			if _, err := m.EmbedPixels(ctx, px); err != nil { // warm the pools
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := m.EmbedPixels(ctx, px); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

func BenchmarkTextTower(b *testing.B) {
	m := benchModel(b, synth.B32())
	ctx := context.Background()
	classes := ImageNetClasses()
	for _, n := range []int{1, 10} {
		ids := make([][]int32, n)
		for i := range ids {
			ids[i] = m.Tokenizer().Encode(ApplyTemplate("a photo of a {}.", classes[i]))
		}
		b.Run(fmt.Sprintf("B32/batch%d", n), func(b *testing.B) {
			if _, err := m.EmbedTokens(ctx, ids); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := m.EmbedTokens(ctx, ids); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "texts/s")
		})
	}
}
