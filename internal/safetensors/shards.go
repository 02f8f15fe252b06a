package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goclip/goclip/internal/safefile"
)

// Store is what a loaded Model keeps: one safetensors file or the
// shards of a split checkpoint.
type Store interface {
	Tensor(name string, shape ...int) ([]float32, error)
	DropPages()
	Close() error
}

// shardedWeights is a checkpoint split over several safetensors files, as
// listed by model.safetensors.index.json ({"weight_map": {tensor: file}}).
type shardedWeights struct {
	index  string
	shards []*Weights
	byName map[string]*Weights
}

// openSharded opens the shards named by an index file.
func openSharded(indexPath string) (*shardedWeights, error) {
	data, err := safefile.ReadFile(indexPath, safefile.MaxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("clip: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, &FormatError{File: indexPath, Err: err}
	}
	if len(idx.WeightMap) == 0 {
		return nil, &FormatError{File: indexPath, Err: errors.New("empty weight_map")}
	}
	dir := filepath.Dir(indexPath)
	s := &shardedWeights{index: indexPath, byName: map[string]*Weights{}}
	files := map[string]*Weights{}
	names := make([]string, 0, len(idx.WeightMap))
	for name := range idx.WeightMap {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		file := idx.WeightMap[name]
		if file == "" || strings.ContainsAny(file, `/\`) || file == ".." {
			s.Close()
			return nil, &FormatError{File: indexPath, Err: fmt.Errorf("tensor %q: bad shard file name %q", name, file)}
		}
		w, ok := files[file]
		if !ok {
			if w, err = Open(filepath.Join(dir, file)); err != nil {
				s.Close()
				return nil, err
			}
			files[file] = w
			s.shards = append(s.shards, w)
		}
		s.byName[name] = w
	}
	return s, nil
}

func (s *shardedWeights) Tensor(name string, shape ...int) ([]float32, error) {
	w, ok := s.byName[name]
	if !ok {
		return nil, &TensorError{File: s.index, Tensor: name, Err: ErrMissingTensor}
	}
	return w.Tensor(name, shape...)
}

func (s *shardedWeights) DropPages() {
	for _, w := range s.shards {
		w.DropPages()
	}
}

func (s *shardedWeights) Close() error {
	var first error
	for _, w := range s.shards {
		if err := w.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
