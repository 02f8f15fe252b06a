package clip

import (
	"context"
	"testing"

	"github.com/goclip/goclip/synth"
)

// benchModel writes a synthetic model of the given shape and loads it.
func benchModel(b *testing.B, cfg synth.Config) *Model {
	b.Helper()
	dir := b.TempDir()
	if err := synth.WriteModel(dir, cfg, 0); err != nil {
		b.Fatal(err)
	}
	m, err := Load(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

func benchImages(b *testing.B, cfg synth.Config, n int) {
	m := benchModel(b, cfg)
	s := m.ImageSize()
	px := synth.Tensor("bench.weight", []int{n, 3, s, s}, 1)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.EmbedPixels(ctx, px); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
}

func benchTexts(b *testing.B, cfg synth.Config, n int) {
	m := benchModel(b, cfg)
	ids := make([][]int32, n)
	for i := range ids {
		ids[i] = make([]int32, 77)
		ids[i][0] = 49406
		for j := 1; j < 76; j++ {
			ids[i][j] = int32(300 + (i*77+j)%40000)
		}
		ids[i][76] = 49407
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.EmbedTokens(ctx, ids); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "texts/s")
}

// ViT-B/32: 224 px, 50 tokens of width 768, 12 layers.
func BenchmarkEmbedPixelsB32Batch8(b *testing.B) { benchImages(b, synth.B32(), 8) }

// Text tower of ViT-B/32: 77 tokens of width 512, 12 layers.
func BenchmarkEmbedTokensB32Batch8x77(b *testing.B) { benchTexts(b, synth.B32(), 8) }

// The tiny test shape: 64 px, 17 tokens of width 48, 2 layers.
func BenchmarkEmbedPixelsTinyBatch8(b *testing.B) { benchImages(b, synth.Tiny(), 8) }

func BenchmarkEmbedTokensTinyBatch8x77(b *testing.B) { benchTexts(b, synth.Tiny(), 8) }

// BenchmarkLoadB32 measures Load of a full-size ViT-B/32 folder (config,
// memory-mapped weights, packing, tokenizer).
func BenchmarkLoadB32(b *testing.B) {
	dir := b.TempDir()
	if err := synth.WriteModel(dir, synth.B32(), 0); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := Load(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
}
