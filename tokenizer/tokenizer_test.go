package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/goclip/goclip/internal/testref"
)

// goldenFile is the project's own golden data, written by
// tools/goldens/tokenizer.py goldens (see testdata/tokenizer/README.md).
const goldenFile = "../testdata/tokenizer/golden.json"

type goldenCase struct {
	Text    string  `json:"text"`
	IDs     []int32 `json:"ids"`
	Decoded *string `json:"decoded"`
}

type goldenBatch struct {
	Texts []string  `json:"texts"`
	IDs   [][]int32 `json:"ids"`
	Mask  [][]int32 `json:"mask"`
}

type goldenData struct {
	Cases        []goldenCase `json:"cases"`
	BatchLongest *goldenBatch `json:"batch_longest"`
	Batch77      *goldenBatch `json:"batch_77"`
}

func readGolden(t testing.TB, path string) goldenData {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g goldenData
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(g.Cases) == 0 {
		t.Fatalf("%s: no cases", path)
	}
	return g
}

func mustVocab(t testing.TB, tok *Tokenizer) *vocab {
	t.Helper()
	v, err := tok.lv.get()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newTok(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// checkCases encodes (and decodes, where the golden has it) every case and
// fails on any difference; it returns the number of exact matches.
func checkCases(t *testing.T, tok *Tokenizer, cases []goldenCase) int {
	t.Helper()
	ok := 0
	for i, c := range cases {
		got := tok.Encode(c.Text)
		match := slices.Equal(got, c.IDs)
		if !match {
			t.Errorf("case %d %q:\n got %v\nwant %v", i, c.Text, got, c.IDs)
		}
		if c.Decoded != nil {
			if d := tok.Decode(c.IDs); d != *c.Decoded {
				t.Errorf("case %d %q: Decode = %q, want %q", i, c.Text, d, *c.Decoded)
				match = false
			}
		}
		if match {
			ok++
		}
	}
	return ok
}

func TestGolden(t *testing.T) {
	g := readGolden(t, goldenFile)
	tok := newTok(t)
	ok := checkCases(t, tok, g.Cases)
	t.Logf("%d/%d project golden cases match exactly", ok, len(g.Cases))
	for name, b := range map[string]*goldenBatch{"batch_longest": g.BatchLongest, "batch_77": g.Batch77} {
		if b == nil {
			t.Fatalf("golden has no %s", name)
		}
		padTo := 0
		if name == "batch_77" {
			padTo = 77
		}
		ids, mask := tok.EncodeBatch(b.Texts, padTo)
		if !reflect.DeepEqual(ids, b.IDs) || !reflect.DeepEqual(mask, b.Mask) {
			t.Errorf("%s:\n got %v %v\nwant %v %v", name, ids, mask, b.IDs, b.Mask)
		}
	}
}

// TestSharedGolden is the independent check against the 1,130 cases of
// ../shared/reference/golden/tokenizer.json.
func TestSharedGolden(t *testing.T) {
	ref := testref.Dir(t)
	g := readGolden(t, filepath.Join(ref, "golden", "tokenizer.json"))
	ok := checkCases(t, newTok(t), g.Cases)
	t.Logf("%d/%d shared reference cases match exactly", ok, len(g.Cases))
}

// TestDefaultVocabMatchesVocabJSON checks that the vocabulary built from the
// embedded merge list gives every token the id of the Hugging Face
// vocab.json.
func TestDefaultVocabMatchesVocabJSON(t *testing.T) {
	ref := testref.Dir(t)
	b, err := os.ReadFile(filepath.Join(ref, "vocab", "vocab.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]int32
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	tok := newTok(t)
	v := mustVocab(t, tok)
	if len(want) != len(v.tokens) || len(want) != clipVocabSize {
		t.Fatalf("vocab.json has %d tokens, built vocabulary %d, want %d", len(want), len(v.tokens), clipVocabSize)
	}
	for s, id := range want {
		if v.tokens[id] != s {
			t.Fatalf("id %d: built %q, vocab.json %q", id, v.tokens[id], s)
		}
	}
}

// TestLoadSharedModel loads the tokenizer files of a reference model folder
// (vocab.json + merges.txt + configs) and checks it encodes like New.
func TestLoadSharedModel(t *testing.T) {
	ref := testref.Dir(t)
	tok, err := Load(filepath.Join(ref, "models", "tiny-gelu"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.MaxLength() != 77 || tok.Pad() != 49407 || tok.BOS() != 49406 || tok.EOS() != 49407 {
		t.Errorf("MaxLength %d Pad %d BOS %d EOS %d, want 77 49407 49406 49407", tok.MaxLength(), tok.Pad(), tok.BOS(), tok.EOS())
	}
	g := readGolden(t, goldenFile)
	checkCases(t, tok, g.Cases)
}

func TestSpecialIDs(t *testing.T) {
	tok := newTok(t)
	if tok.BOS() != 49406 || tok.EOS() != 49407 || tok.Pad() != 49407 || tok.MaxLength() != 77 || tok.VocabSize() != 49408 {
		t.Errorf("BOS %d EOS %d Pad %d MaxLength %d VocabSize %d", tok.BOS(), tok.EOS(), tok.Pad(), tok.MaxLength(), tok.VocabSize())
	}
	if got := tok.Encode(""); !slices.Equal(got, []int32{49406, 49407}) {
		t.Errorf("Encode(\"\") = %v", got)
	}
}

func TestTruncation(t *testing.T) {
	tok := newTok(t)
	long := ""
	for i := 0; i < 200; i++ {
		long += "cat "
	}
	ids := tok.Encode(long)
	if len(ids) != 77 || ids[0] != 49406 || ids[76] != 49407 {
		t.Fatalf("len %d first %d last %d, want 77 49406 49407", len(ids), ids[0], ids[76])
	}
	short := tok.WithMaxLength(5).Encode(long)
	if !slices.Equal(short, []int32{49406, 2368, 2368, 2368, 49407}) {
		t.Errorf("WithMaxLength(5) = %v", short)
	}
	batch, mask := tok.EncodeBatch([]string{long, "cat"}, 4)
	want := [][]int32{{49406, 2368, 2368, 49407}, {49406, 2368, 49407, 49407}}
	wantMask := [][]int32{{1, 1, 1, 1}, {1, 1, 1, 0}}
	if !reflect.DeepEqual(batch, want) || !reflect.DeepEqual(mask, wantMask) {
		t.Errorf("EncodeBatch(padTo 4) = %v %v", batch, mask)
	}
}

// TestLongInputs checks that pathological inputs (one huge pre-token, huge
// white space, many special strings) finish and are truncated correctly.
func TestLongInputs(t *testing.T) {
	tok := newTok(t)
	mk := func(s string, n int) string {
		b := make([]byte, 0, len(s)*n)
		for i := 0; i < n; i++ {
			b = append(b, s...)
		}
		return string(b)
	}
	for _, s := range []string{mk("!", 1<<20), mk(" ", 1<<20), mk("a", 1<<20), mk("<|endoftext|>", 1<<16), mk("e\u0301", 1<<18), mk("\U0001F600", 1<<18)} {
		ids := tok.Encode(s)
		if len(ids) > 77 || ids[0] != 49406 || ids[len(ids)-1] != 49407 {
			t.Errorf("input of %d bytes: %d ids %v", len(s), len(ids), ids)
		}
	}
	// The heap merge (long words) must agree with the quadratic one.
	for _, w := range []string{mk("ab", 40), mk("supercalifragilistic", 5), mk("\U0001F600", 20), mk("x!", 33)} {
		if len(w) <= shortWord {
			t.Fatalf("%q is not a long word", w)
		}
		v := mustVocab(t, tok)
		syms := make([]int32, len(w))
		for i := range w {
			syms[i] = v.byteID[w[i]]
		}
		syms[len(w)-1] = v.byteEndID[w[len(w)-1]]
		long := mergeLong(v, slices.Clone(syms))
		short := mergeShort(v, slices.Clone(syms))
		if !slices.Equal(long, short) {
			t.Errorf("%q: heap merge %v, scan merge %v", w, long, short)
		}
	}
}

func TestConcurrent(t *testing.T) {
	g := readGolden(t, goldenFile)
	tok := newTok(t)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range g.Cases {
				c := g.Cases[(i*7+w*131)%len(g.Cases)]
				if got := tok.Encode(c.Text); !slices.Equal(got, c.IDs) {
					errs <- c.Text
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Errorf("concurrent Encode(%q) differs from the golden", s)
	}
}

func TestDecodeLossy(t *testing.T) {
	tok := newTok(t)
	// "èª" then nothing: the byte tokens E8 AA alone are an incomplete
	// sequence, one U+FFFD for the maximal subpart, as Rust's from_utf8_lossy.
	v := mustVocab(t, tok)
	e8, aa := v.byteID[0xE8], v.byteID[0xAA]
	if got := tok.Decode([]int32{e8, aa}); got != "\uFFFD" {
		t.Errorf("Decode(E8 AA) = %q, want U+FFFD", got)
	}
	if got := tok.Decode([]int32{aa, aa, -1, 1 << 30}); got != "\uFFFD\uFFFD" {
		t.Errorf("Decode(AA AA) = %q, want two U+FFFD", got)
	}
}
