package sentencepiece

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLongText checks that a text far above MaxTextBytes is cut, not
// encoded whole: bounded time, ids within MaxLength.
func TestLongText(t *testing.T) {
	long := strings.Repeat("a photo of a dog ü日😀 ", 4*MaxTextBytes/30)
	for _, name := range []string{"unigram_nfkc", "bpe_bytes", "gemma"} {
		tok := loadTest(t, name)
		start := time.Now()
		ids := tok.Encode(long)
		if len(ids) != tok.MaxLength() {
			t.Errorf("%s: %d ids, want %d", name, len(ids), tok.MaxLength())
		}
		t.Logf("%s: %d-byte text in %v", name, len(long), time.Since(start))
	}
	if got := capText(strings.Repeat("é", MaxTextBytes)); len(got) != MaxTextBytes {
		t.Errorf("capText: %d bytes", len(got))
	}
	if got := capText("x" + strings.Repeat("é", MaxTextBytes/2)); len(got) != MaxTextBytes-1 {
		t.Errorf("capText does not cut at a character boundary: %d bytes", len(got))
	}
}

// TestConcurrent encodes from several goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	toks := []*Tokenizer{loadTest(t, "unigram_nfkc"), loadTest(t, "bpe_bytes"), loadTest(t, "siglip2")}
	want := make([][]int32, len(toks))
	for i, tok := range toks {
		want[i] = tok.Encode("A Photo of a DOG, ünïcode 日本 😀")
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 50; k++ {
				for i, tok := range toks {
					got := tok.Encode("A Photo of a DOG, ünïcode 日本 😀")
					if len(got) != len(want[i]) {
						t.Errorf("concurrent Encode differs")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
