package clip

import (
	"context"
	"testing"

	"github.com/goclip/goclip/synth"
	"github.com/goclip/goclip/textenc"
)

// TestTextSharedPrefixExact checks the text tower's prefix sharing: texts
// of one batch that start alike compute their common prefix once (exact
// under the causal mask). The pooled outputs must equal, bit for bit,
// those of the unshared path (taken when hidden states are requested) and
// those of each text embedded alone.
func TestTextSharedPrefixExact(t *testing.T) {
	for _, name := range []string{"tiny", "b32"} {
		cfg := synth.Tiny()
		if name == "b32" {
			cfg = synth.B32()
		}
		t.Run(name, func(t *testing.T) {
			if name == "b32" && testing.Short() {
				t.Skip("full-size ViT-B/32 synthetic weights (605 MB); skipped with -short")
			}
			dir := t.TempDir()
			if err := synth.WriteModel(dir, cfg, 3); err != nil {
				t.Fatal(err)
			}
			m, err := Load(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			tok := m.Tokenizer()
			vocab := int32(m.Config().TextConfig.VocabSize)
			var ids [][]int32
			for _, s := range []string{"a photo of a dog.", "a photo of a cat.", "a photo of a dog.",
				"a photo of the great white shark.", "an origami dog.", "a photo", "dog"} {
				seq := tok.Encode(s)
				for i, id := range seq { // the tiny model's vocabulary is small
					if id >= vocab {
						seq[i] = vocab - 1 - int32(i%2)
					}
				}
				ids = append(ids, seq)
			}
			ids = append(ids, append(append([]int32(nil), ids[0]...), 0, 0, 0)) // padded after EOS
			ctx := context.Background()
			text := m.text
			shared, err := text.Forward(ctx, ids, nil)
			if err != nil {
				t.Fatal(err)
			}
			full, err := text.Forward(ctx, ids, &textenc.ForwardOptions{Hidden: func(int, int, []float32) {}})
			if err != nil {
				t.Fatal(err)
			}
			w := m.Config().TextConfig.HiddenSize
			for i := range full {
				if shared[i] != full[i] {
					t.Fatalf("text %d col %d: shared %g, unshared %g", i/w, i%w, shared[i], full[i])
				}
			}
			for s := range ids {
				one, err := text.Forward(ctx, ids[s:s+1], nil)
				if err != nil {
					t.Fatal(err)
				}
				for j := range one {
					if one[j] != shared[s*w+j] {
						t.Fatalf("text %d col %d: in batch %g, alone %g", s, j, shared[s*w+j], one[j])
					}
				}
			}
		})
	}
}
