package goldentest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// RecipeStore is a tensor.Store whose tensors are the synthetic-weight
// recipe's values (fill, e.g. synth.Fill) for the names and shapes asked
// for: the weights of a golden model, regenerated. Names lists every name
// served, so a test can check that a tower read all it was meant to.
type RecipeStore struct {
	Seed  uint64
	Fill  func(dst []float32, name string, seed uint64)
	Names []string
	// Shapes, if not nil, holds the checkpoint's shapes: a request for
	// another shape or a name not in it fails, as with a real file.
	Shapes map[string][]int
}

// Tensor implements tensor.Store.
func (s *RecipeStore) Tensor(name string, shape ...int) ([]float32, error) {
	if s.Shapes != nil {
		want, ok := s.Shapes[name]
		if !ok {
			return nil, fmt.Errorf("tensor %q not found", name)
		}
		if !slices.Equal(want, shape) {
			return nil, fmt.Errorf("tensor %q: shape %v, want %v", name, want, shape)
		}
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	s.Fill(v, name, s.Seed)
	s.Names = append(s.Names, name)
	return v, nil
}

// Tower decodes the tower config under key ("vision_config" or
// "text_config") of the golden's "config" metadata (a transformers
// config.json) into cfg, which holds the defaults beforehand, and returns
// the store that regenerates the golden's synthetic weights with fill from
// its "seed" metadata.
func (f *File) Tower(key string, cfg any, fill func(dst []float32, name string, seed uint64)) (*RecipeStore, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(f.Meta["config"]), &raw); err != nil {
		return nil, fmt.Errorf("golden config: %w", err)
	}
	if err := json.Unmarshal(raw[key], cfg); err != nil {
		return nil, fmt.Errorf("golden config %s: %w", key, err)
	}
	seed, err := strconv.ParseUint(f.Meta["seed"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("golden seed: %w", err)
	}
	return &RecipeStore{Seed: seed, Fill: fill}, nil
}
