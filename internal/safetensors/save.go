package safetensors

import (
	sft "github.com/nlpodyssey/safetensors"
)

// Metadata returns the __metadata__ strings of the file (nil if none).
func (w *Weights) Metadata() map[string]string {
	_, md, err := sft.ReadMetadata(w.data) // already validated by Parse
	if err != nil {
		return nil
	}
	return md.Metadata()
}

// Rows joins equal-length rows into one row-major slice, as a tensor's Data.
func Rows(rows [][]float32) []float32 {
	if len(rows) == 0 {
		return nil
	}
	out := make([]float32, 0, len(rows)*len(rows[0]))
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}
