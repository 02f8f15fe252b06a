package clip

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/goclip/goclip/tokenizer"
)

// clipVocabSize is the size of the BPE vocabulary every OpenAI and LAION
// CLIP checkpoint uses (bpe_simple_vocab_16e6), which is built in.
const clipVocabSize = 49408

// loadTokenizer reads the folder's tokenizer files (tokenizer.json, or
// vocab.json and merges.txt). A folder without them gets the built-in CLIP
// vocabulary only when the text tower's vocab_size is CLIP's: any other
// model would be fed ids of a vocabulary it was not trained with.
func loadTokenizer(dir string, vocabSize int) (*tokenizer.Tokenizer, error) {
	for _, f := range []string{"tokenizer.json", "vocab.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return tokenizer.Load(dir)
		}
	}
	if vocabSize != clipVocabSize {
		return nil, fmt.Errorf("clip: %s has no tokenizer files (tokenizer.json, or vocab.json and merges.txt), and its vocab_size %d is not that of the built-in CLIP vocabulary (%d)",
			dir, vocabSize, clipVocabSize)
	}
	return tokenizer.New()
}
