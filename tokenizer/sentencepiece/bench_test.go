package sentencepiece

import "testing"

var benchTexts = []string{
	"a photo of a dog.", "a bad photo of the golden retriever.", "A close-up photo of a Café in Zürich, 2024!",
	"a very long caption describing a busy street scene with many people, cars, bicycles and shops",
}

// BenchmarkEncode measures one caption (max_length 64) per op.
func BenchmarkEncode(b *testing.B) {
	for _, name := range []string{"unigram_nfkc", "bpe", "gemma", "siglip2"} {
		tok := loadTest(b, name)
		b.Run(name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				tok.Encode(benchTexts[i%len(benchTexts)])
			}
		})
	}
}
