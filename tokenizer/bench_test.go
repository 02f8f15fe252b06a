package tokenizer

import (
	"strings"
	"testing"
)

// imagenetPrompts returns "a photo of a {}." for ImageNet class names (the
// classes of the project's goldens).
func imagenetPrompts() []string {
	classes := []string{
		"tench", "goldfish", "great white shark", "hammerhead shark", "stingray", "ostrich",
		"American robin", "bald eagle", "great grey owl", "axolotl", "tree frog", "loggerhead sea turtle",
		"Komodo dragon", "Nile crocodile", "Gila monster", "trilobite", "black widow", "peacock",
		"hummingbird", "koala", "jellyfish", "sea anemone", "king penguin", "Chihuahua",
		"Shih Tzu", "Rhodesian Ridgeback", "Labrador Retriever", "tabby cat", "snow leopard", "ladybug",
		"monarch butterfly", "starfish", "Angora rabbit", "hippopotamus", "bighorn sheep", "orangutan",
		"giant panda", "jack-o'-lantern", "T-shirt", "potter's wheel", "Granny Smith", "yellow lady's slipper",
	}
	out := make([]string, len(classes))
	for i, c := range classes {
		out[i] = "a photo of a " + c + "."
	}
	return out
}

// BenchmarkEncode times one ImageNet prompt (about 10 tokens) with a warm
// BPE cache, the steady state of zero-shot classification.
func BenchmarkEncode(b *testing.B) {
	tok := newTok(b)
	prompts := imagenetPrompts()
	for _, p := range prompts {
		tok.Encode(p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tok.Encode(prompts[i%len(prompts)])
	}
}

// BenchmarkEncodeColdCache times the same prompts on a fresh tokenizer
// cache every 42 prompts (all words go through BPE once).
func BenchmarkEncodeColdCache(b *testing.B) {
	tok := newTok(b)
	prompts := imagenetPrompts()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%len(prompts) == 0 {
			tok.cache = &bpeCache{}
		}
		tok.Encode(prompts[i%len(prompts)])
	}
}

// BenchmarkEncode77 times a caption long enough to be truncated at 77.
func BenchmarkEncode77(b *testing.B) {
	tok := newTok(b)
	text := strings.Repeat("a very long caption describing a busy street scene with many people ", 10)
	tok.Encode(text)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tok.Encode(text)
	}
}

// BenchmarkNew times building the tokenizer from the embedded vocabulary.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := New(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewFirstEncode times New plus the first Encode, which builds the
// embedded vocabulary.
func BenchmarkNewFirstEncode(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tok, err := New()
		if err != nil {
			b.Fatal(err)
		}
		tok.Encode("a photo of a cat.")
	}
}
