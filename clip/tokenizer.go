package clip

import (
	"os"
	"path/filepath"

	"github.com/goclip/goclip/tokenizer"
)

// loadTokenizer reads the folder's tokenizer files (tokenizer.json, or
// vocab.json and merges.txt); a folder without them gets the built-in CLIP
// vocabulary, which every OpenAI and laion CLIP checkpoint uses.
func loadTokenizer(dir string) (*tokenizer.Tokenizer, error) {
	for _, f := range []string{"tokenizer.json", "vocab.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return tokenizer.Load(dir)
		}
	}
	return tokenizer.New()
}
