package clip

// textTokenizer is the part of the tokenizer package the model uses.
type textTokenizer interface {
	Encode(text string) []int32
}

// loadTokenizer returns the folder's tokenizer; until the tokenizer package
// is available the model has none.
func loadTokenizer(dir string) (textTokenizer, error) { return nil, nil }

// Tokenizer returns the model's tokenizer, or nil.
func (m *Model) Tokenizer() textTokenizer { return m.tok }
