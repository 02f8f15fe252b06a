package tokenizer

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// FuzzEncode checks that Encode never panics and keeps its invariants: BOS
// first, EOS last, at most MaxLength ids, every id in the vocabulary, the
// same ids from a warm and a cold BPE cache. The corpus is seeded from the
// project's golden texts.
func FuzzEncode(f *testing.F) {
	if b, err := os.ReadFile(goldenFile); err == nil {
		var g goldenData
		if err := json.Unmarshal(b, &g); err != nil {
			f.Fatal(err)
		}
		for _, c := range g.Cases {
			f.Add(c.Text)
		}
	}
	f.Add("a photo of a cat.")
	f.Add("x\xff\xfe<|endoftext|>\u0301")
	tok := newTok(f)
	n := int32(tok.VocabSize())
	f.Fuzz(func(t *testing.T, text string) {
		ids := tok.Encode(text)
		if len(ids) < 2 || len(ids) > tok.MaxLength() {
			t.Fatalf("%d ids", len(ids))
		}
		if ids[0] != tok.BOS() || ids[len(ids)-1] != tok.EOS() {
			t.Fatalf("ids %v do not start with BOS and end with EOS", ids)
		}
		for _, id := range ids {
			if id < 0 || id >= n {
				t.Fatalf("id %d out of range", id)
			}
		}
		cold := &Tokenizer{lv: tok.lv, bos: tok.bos, eos: tok.eos, pad: tok.pad, maxLen: tok.maxLen, cache: &bpeCache{}}
		if again := cold.Encode(text); !slices.Equal(again, ids) {
			t.Fatalf("cold cache gives %v, warm %v", again, ids)
		}
		_ = tok.Decode(ids)
	})
}
