package clip

import (
	"path/filepath"
	"testing"

	"github.com/goclip/goclip/internal/testref"
)

// TestSharedTiny is the independent check against transformers outputs in
// ../shared/reference for the two tiny models (folders and weights there).
func TestSharedTiny(t *testing.T) {
	ref := testref.Dir(t)
	for _, name := range []string{"tiny-quickgelu", "tiny-gelu"} {
		t.Run(name, func(t *testing.T) {
			m := loadOrFatal(t, filepath.Join(ref, "models", name))
			g := readGolden(t, filepath.Join(ref, "golden", name+".safetensors"))
			checkGolden(t, m, g, nil, name)
		})
	}
}
