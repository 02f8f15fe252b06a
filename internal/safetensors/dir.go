package safetensors

import (
	"fmt"
	"os"
	"path/filepath"
)

// OpenDir opens dir/model.safetensors, or the shards listed in
// dir/model.safetensors.index.json.
func OpenDir(dir string) (Store, error) {
	wpath := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(wpath); err == nil {
		return Open(wpath)
	}
	if ipath := wpath + ".index.json"; fileExists(ipath) {
		return openSharded(ipath)
	}
	if fileExists(filepath.Join(dir, "pytorch_model.bin")) {
		return nil, fmt.Errorf("clip: %s has only pytorch_model.bin; convert it to model.safetensors", dir)
	}
	return nil, fmt.Errorf("clip: no model weights in %s: model.safetensors not found", dir)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
