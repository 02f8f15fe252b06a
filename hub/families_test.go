package hub

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestResolveModelLayouts: an OpenCLIP-only repo resolves to its
// open_clip files, a repo with both layouts to the transformers files, and
// open_clip's "hf-hub:" prefix names the same repo.
func TestResolveModelLayouts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.client(nil)
	oc := map[string][]byte{"open_clip_config.json": []byte(`{"model_cfg": {}}`), "open_clip_model.safetensors": f.big}
	f.srv.AddRepo("model", "org/openclip", oc)
	both := map[string][]byte{"config.json": f.small, "model.safetensors": f.big}
	for k, v := range oc {
		both[k] = v
	}
	f.srv.AddRepo("model", "org/both", both)
	for spec, want := range map[string][]string{
		"org/openclip":        {"open_clip_config.json", "open_clip_model.safetensors"},
		"hf-hub:org/openclip": {"open_clip_config.json", "open_clip_model.safetensors"},
		"org/both":            {"config.json", "model.safetensors"},
		"hf-hub:org/tiny":     {"config.json", "model.safetensors"},
	} {
		dir, err := ResolveModel(ctx, spec, c)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		for _, name := range want {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Errorf("%s: %v", spec, err)
			}
		}
		if spec == "org/both" {
			if _, err := os.Stat(filepath.Join(dir, "open_clip_config.json")); err == nil {
				t.Errorf("%s: the OpenCLIP files were downloaded too", spec)
			}
		}
	}
}
