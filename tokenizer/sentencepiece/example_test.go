package sentencepiece_test

import (
	"fmt"

	"github.com/goclip/goclip/tokenizer/sentencepiece"
)

// A SigLIP text model is run on ids padded to max_length (64): EncodeBatch
// with padTo = MaxLength gives them. (The folder here holds a small test
// vocabulary; a Hugging Face SigLIP or SigLIP 2 folder loads the same way.)
func Example() {
	tok, err := sentencepiece.Load("../../testdata/sentencepiece/siglip2")
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, mask := tok.EncodeBatch([]string{"a photo of a dog."}, tok.MaxLength())
	fmt.Println(tok.Class(), len(ids[0]), ids[0][:9], mask[0][:9])
	// Output: GemmaTokenizer 64 [1059 304 272 266 435 1074 1075 1 0] [1 1 1 1 1 1 1 1 0]
}
