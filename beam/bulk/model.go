package bulk

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
)

// embedder is the slice of the clip API the pipeline uses, in one place so
// that API changes are a local edit.
type embedder struct {
	m    *clip.Model
	proc *imageproc.Processor
}

// loadEmbedder loads the model (memory-mapped) with the pipeline's batch
// size and precision ("" or "f32", "bf16", "int8": clip.Precision).
func loadEmbedder(dir, precision string, batch int) (*embedder, error) {
	m, err := clip.Load(dir, &clip.LoadOptions{BatchSize: batch, Precision: clip.Precision(precision)})
	if err != nil {
		return nil, err
	}
	return &embedder{m: m, proc: m.Processor()}, nil
}

// pixels decodes and preprocesses one encoded image to [3,S,S].
func (e *embedder) pixels(img []byte) ([]float32, error) {
	return e.proc.Reader(bytes.NewReader(img))
}

func (e *embedder) images(ctx context.Context, px []float32) ([][]float32, error) {
	return e.m.EmbedPixels(ctx, px)
}

func (e *embedder) texts(ctx context.Context, texts []string) ([][]float32, error) {
	return e.m.EmbedTexts(ctx, texts)
}

func (e *embedder) size() int { return e.m.ImageSize() }
func (e *embedder) dim() int  { return e.m.EmbedDim() }

// Beam creates DoFn instances itself (one per bundle processor, several per
// worker process), so a model shared by all of a process's instances has
// to live at process level: the cache below holds one mapping per (model
// folder, precision), reference-counted from the DoFns' Setup and
// Teardown, together with the process's slots for concurrent parts (the
// --workers knob). This is Beam Python's shared.Shared, in Go.
var shared struct {
	mu sync.Mutex
	m  map[string]*sharedModel
}

type sharedModel struct {
	key   string
	e     *embedder
	refs  int
	slots chan struct{}
}

func acquireModel(dir, precision string, batch, slots int) (*sharedModel, error) {
	key := fmt.Sprint(dir, "\x00", precision, "\x00", batch)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if s, ok := shared.m[key]; ok {
		s.refs++
		return s, nil
	}
	e, err := loadEmbedder(dir, precision, batch)
	if err != nil {
		return nil, err
	}
	if shared.m == nil {
		shared.m = map[string]*sharedModel{}
	}
	s := &sharedModel{key: key, e: e, refs: 1, slots: make(chan struct{}, max(slots, 1))}
	shared.m[key] = s
	return s, nil
}

func (s *sharedModel) release() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	s.refs--
	if s.refs > 0 {
		return nil
	}
	delete(shared.m, s.key)
	return s.e.m.Close()
}
