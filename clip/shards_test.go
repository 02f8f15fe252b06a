package clip

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/safetensors"
)

// split writes the tensors of src into two shard files in dir, with the
// index that names them.
func split(t *testing.T, src, dir string) {
	t.Helper()
	w, err := safetensors.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	weightMap := map[string]string{}
	parts := [2]map[string]any{{}, {}}
	var data [2][]byte
	for i, name := range w.Names() {
		k := i % 2
		shape, dt, _ := w.Shape(name)
		if shape == nil {
			shape = []int{}
		}
		raw, _ := w.Raw(name)
		start := len(data[k])
		data[k] = append(data[k], raw...)
		parts[k][name] = map[string]any{"dtype": dt, "shape": shape, "data_offsets": []int{start, len(data[k])}}
		weightMap[name] = []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[k]
	}
	for k := range parts {
		h, _ := json.Marshal(parts[k])
		for len(h)%8 != 0 {
			h = append(h, ' ')
		}
		out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
		out = append(append(out, h...), data[k]...)
		name := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[k]
		if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), idx, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestShardedCheckpoint(t *testing.T) {
	single := tinyDir(t)
	sharded := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(single, "config.json"))
	os.WriteFile(filepath.Join(sharded, "config.json"), b, 0o644)
	split(t, filepath.Join(single, "model.safetensors"), sharded)
	m1, m2 := loadOrFatal(t, single), loadOrFatal(t, sharded)
	ctx := context.Background()
	a, err := m1.EmbedTexts(ctx, []string{"a photo of a cat"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := m2.EmbedTexts(ctx, []string{"a photo of a cat"})
	if err != nil {
		t.Fatal(err)
	}
	if !equalRows(a, c) {
		t.Error("sharded checkpoint gives other embeddings")
	}
	s := m1.ImageSize()
	px := make([]float32, 3*s*s)
	for i := range px {
		px[i] = float32(i%13) / 7
	}
	a, _ = m1.EmbedPixels(ctx, px)
	c, _ = m2.EmbedPixels(ctx, px)
	if !equalRows(a, c) {
		t.Error("sharded checkpoint gives other image embeddings")
	}

	// Bad indexes: a shard outside the folder, a missing shard, not JSON.
	for _, idx := range []string{
		`{"weight_map": {"logit_scale": "../model.safetensors"}}`,
		`{"weight_map": {"logit_scale": "model-00009-of-00009.safetensors"}}`,
		`{"weight_map": {}}`,
		`{"weight_map": `,
	} {
		os.WriteFile(filepath.Join(sharded, "model.safetensors.index.json"), []byte(idx), 0o644)
		if _, err := Load(sharded, nil); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("index %s: error %v", idx, err)
		}
	}
}
