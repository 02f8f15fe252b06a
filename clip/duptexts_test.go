package clip

import (
	"context"
	"slices"
	"testing"
)

// TestEmbedTextsDuplicates: texts that share every token (duplicates) make
// the shared-prefix forward pool more rows than it computes; with a fresh
// model that used to index past its scratch buffers and panic ("slice
// bounds out of range"), e.g. `clip similarity --dataset` whose texts are
// the sample's class names. Every duplicate gets the same embedding as
// the text embedded alone.
func TestEmbedTextsDuplicates(t *testing.T) {
	m, err := Load(tinyDir(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	names := []string{"red", "green", "blue"}
	texts := make([]string, 40)
	for i := range texts {
		texts[i] = names[i%3]
	}
	got, err := m.EmbedTexts(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	alone, err := m.EmbedTexts(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range got {
		if !slices.Equal(e, got[i%3]) {
			t.Errorf("text %d (%q): embedding differs from its first duplicate's", i, texts[i])
		}
	}
	for k := range names {
		for j := range alone[k] {
			// The same rows through the same kernels; only the number of
			// rows in the batch differs, which the kernels' row blocking
			// does not see: bit-identical.
			if got[k][j] != alone[k][j] {
				t.Fatalf("%q: embedding in a batch of duplicates differs from the text alone at %d: %v vs %v", names[k], j, got[k][j], alone[k][j])
			}
		}
	}
}
