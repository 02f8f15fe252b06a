// Package clip loads Hugging Face CLIP checkpoints and computes image and
// text embeddings, similarity matrices and zero-shot classifications that
// match the transformers implementation to float32 precision.
package clip

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/internal/safetensors"
	"github.com/goclip/goclip/tensor"
	"github.com/goclip/goclip/textenc"
	"github.com/goclip/goclip/tokenizer"
	"github.com/goclip/goclip/vit"
)

// Model is a loaded CLIP model (transformers' CLIPModel) with its
// tokenizer and image processor. It is safe for concurrent use; Close
// waits for the calls in flight.
type Model struct {
	cfg        Config
	vision     *vit.Model
	text       *textenc.Model
	visualProj *tensor.Linear // visual_projection.weight [projection_dim, vision hidden_size], no bias; nil in SigLIP (the towers' heads project)
	textProj   *tensor.Linear // text_projection.weight [projection_dim, text hidden_size], no bias; nil in SigLIP
	logitScale float32        // exp(logit_scale); logit_scale is a scalar [] ([1] in SigLIP)
	logitBias  float32        // logit_bias (SigLIP, OpenCLIP with init_logit_bias); 0 otherwise
	sigmoid    bool           // probabilities by sigmoid of each logit (a logit_bias model), not softmax
	tok        *tokenizer.Tokenizer
	spm        textTokenizer // SigLIP's tokenizer; nil otherwise
	proc       *imageproc.Processor
	wk         *tensor.Workers
	batch      int // images or texts per forward pass (before the token cap)

	weights  safetensors.Store // memory-mapped: read by the towers until Close
	mu       sync.Mutex
	idle     sync.Cond // signalled when inflight drops to 0
	inflight int
	closed   atomic.Bool // set by Close: new calls fail, calls in flight stop at the next batch
}

// Precision selects the arithmetic of the towers' matrix products.
type Precision string

// Precisions. F32 is the parity path: the same numbers as transformers in
// float32.
const (
	F32  Precision = "f32"
	BF16 Precision = "bf16"
	Int8 Precision = "int8"
)

// LoadOptions tune Load; nil means defaults.
type LoadOptions struct {
	// Threads is the number of goroutines one call computes on (matrix
	// products, attention, image resizing); concurrent calls share them.
	// 0 means runtime.GOMAXPROCS(0).
	Threads int
	// BatchSize is the number of images (or texts) per forward pass inside
	// the Embed methods: larger batches are more efficient, smaller ones
	// need less scratch memory. 0 means 32. Large vision towers use fewer
	// images per pass, to keep about 2,048 tokens.
	BatchSize int
	// Precision is the number format of the encoder layers' weights: F32
	// (the default; "" means F32), BF16 or Int8 (see tensor.Precision).
	// Embeddings, layer norms, attention, activations, residuals and the
	// projections stay float32 in every format.
	Precision Precision
}

// linearOptions maps p to the tensor package's weight format.
func (p Precision) linearOptions() (tensor.LinearOptions, error) {
	switch p {
	case "", F32:
		return tensor.LinearOptions{}, nil
	case BF16:
		return tensor.LinearOptions{Precision: tensor.BF16}, nil
	case Int8:
		return tensor.LinearOptions{Precision: tensor.Int8}, nil
	}
	return tensor.LinearOptions{}, fmt.Errorf("clip: precision %q is unknown (want %q, %q or %q)", string(p), F32, BF16, Int8)
}

// chunkTokens caps the tokens of one vision pass: activations take about
// (6·width + intermediate)·4 bytes per token, so a pass of 32 ViT-B/32
// images (1,600 tokens) about 50 MB, and ViT-L/14-336 gets 3 images.
const (
	defaultBatch = 32
	chunkTokens  = 2048
)

// imagesPerChunk is the number of images per vision forward pass (NaFlex:
// counting max_num_patches tokens per image).
func (m *Model) imagesPerChunk() int {
	t := m.cfg.VisionConfig.Tokens()
	if m.cfg.VisionConfig.NaFlex && m.proc != nil {
		t = m.proc.Config().MaxNumPatches
	}
	return max(1, min(m.batch, chunkTokens/t))
}

// Load reads a Hugging Face model folder: config.json, model.safetensors
// (or the shards of model.safetensors.index.json), the tokenizer files and
// preprocessor_config.json (CLIP's defaults when absent). The weights are
// memory-mapped; Close releases them.
func Load(dir string, opts *LoadOptions) (*Model, error) {
	var o LoadOptions
	if opts != nil {
		o = *opts
	}
	if _, err := o.Precision.linearOptions(); err != nil {
		return nil, err
	}
	f, err := openFolder(dir)
	if err != nil {
		return nil, err
	}
	m, err := newModel(*f.cfg, f.store, &o)
	if err == nil {
		m.proc, err = familyProcessor(dir, f, m.wk.N())
	}
	if err == nil {
		err = m.loadTokenizer(dir)
	}
	if err != nil {
		f.weights.Close()
		return nil, err
	}
	m.weights = f.weights
	return m, nil
}

// loadProcessor reads dir/preprocessor_config.json, or takes OpenAI CLIP's
// preprocessing at the vision tower's size when the folder has none.
func loadProcessor(dir string, size, workers int) (*imageproc.Processor, error) {
	var p *imageproc.Processor
	var err error
	if _, serr := os.Stat(filepath.Join(dir, "preprocessor_config.json")); serr == nil {
		p, err = imageproc.LoadProcessor(dir)
	} else {
		p, err = imageproc.New(imageproc.DefaultConfig(size))
	}
	if err != nil {
		return nil, err
	}
	return p.WithWorkers(workers), nil
}

// newModel builds a model from a config and a weight store, whose slices
// it retains.
func newModel(cfg Config, st tensor.Store, o *LoadOptions) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Threads < 0 || o.BatchSize < 0 {
		return nil, fmt.Errorf("clip: LoadOptions: Threads %d and BatchSize %d must not be negative", o.Threads, o.BatchSize)
	}
	lin, err := o.Precision.linearOptions()
	if err != nil {
		return nil, err
	}
	cfg.VisionConfig.Weights, cfg.TextConfig.Weights = lin, lin
	m := &Model{cfg: cfg, wk: tensor.NewWorkers(o.Threads), batch: o.BatchSize}
	if m.batch == 0 {
		m.batch = defaultBatch
	}
	m.idle.L = &m.mu
	if m.vision, err = vit.New(cfg.VisionConfig, st, "vision_model.", m.wk); err != nil {
		return nil, err
	}
	// The towers keep packed copies of their matrices, so the mapped pages
	// read so far need not stay resident (the few tensors used in place,
	// embeddings and layer-norm parameters, fault back in on use).
	dropStorePages(st)
	if m.text, err = textenc.New(cfg.TextConfig, st, "text_model.", m.wk); err != nil {
		return nil, err
	}
	p := cfg.ProjectionDim
	if !cfg.sigLIP() {
		if m.visualProj, err = m.loadProjection(st, "visual_projection.weight", p, cfg.VisionConfig.HiddenSize); err != nil {
			return nil, err
		}
		if m.textProj, err = m.loadProjection(st, "text_projection.weight", p, cfg.TextConfig.HiddenSize); err != nil {
			return nil, err
		}
	}
	ls, err := encoder.Tensor(st, "logit_scale")
	if err != nil {
		return nil, err
	}
	m.logitScale = float32(math.Exp(float64(ls[0])))
	if err := m.loadLogitBias(st); err != nil {
		return nil, err
	}
	dropStorePages(st)
	return m, nil
}

func dropStorePages(st tensor.Store) {
	if w, ok := st.(interface{ DropPages() }); ok {
		w.DropPages()
	}
}

func (m *Model) loadProjection(st tensor.Store, name string, out, in int) (*tensor.Linear, error) {
	w, err := encoder.Tensor(st, name, out, in)
	if err != nil {
		return nil, err
	}
	l, err := tensor.NewLinear(m.wk, w, nil, out, in)
	if err != nil {
		return nil, fmt.Errorf("clip: %s: %w", name, err)
	}
	return l, nil
}

// acquire registers a call that reads the weights; it fails with ErrClosed
// once Close has begun. Every acquire is paired with a release.
func (m *Model) acquire() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Load() {
		return ErrClosed
	}
	m.inflight++
	return nil
}

func (m *Model) release() {
	m.mu.Lock()
	if m.inflight--; m.inflight == 0 {
		m.idle.Broadcast()
	}
	m.mu.Unlock()
}

// stopped reports, between batches of a call in flight, that Close has
// begun: the call returns ErrClosed instead of finishing its input.
func (m *Model) stopped() error {
	if m.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Close stops new calls (they return ErrClosed), lets each call in flight
// finish the batch it is computing (it then returns ErrClosed), and
// releases the memory-mapped weights. It is safe to call more than once
// and concurrently with other methods.
func (m *Model) Close() error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Swap(true) {
		return nil
	}
	for m.inflight > 0 {
		m.idle.Wait()
	}
	if m.weights == nil {
		return nil
	}
	return m.weights.Close()
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Processor returns the model's image preprocessing (CLIPImageProcessor
// from preprocessor_config.json), for callers of EmbedPixels.
func (m *Model) Processor() *imageproc.Processor { return m.proc }

// Tokenizer returns the model's CLIP BPE tokenizer (CLIP and OpenCLIP
// models), or nil for SigLIP, whose SentencePiece tokenizer is used through
// Tokenize and EmbedTexts: Tokenize is the family-independent way to get a
// model's ids.
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// ImageSize is the side S of the [3,S,S] pixel input; 0 for a SigLIP 2
// NaFlex model, whose images keep their aspect ratio (see EmbedPatches).
func (m *Model) ImageSize() int { return m.cfg.VisionConfig.ImageSize }

// EmbedDim is the projection dimension of both embeddings.
func (m *Model) EmbedDim() int { return m.cfg.ProjectionDim }

// LogitScale is exp(logit_scale), the factor CLIP multiplies cosine similarities by.
func (m *Model) LogitScale() float32 { return m.logitScale }

// LogitBias is the logit_bias SigLIP (and OpenCLIP models trained with the
// sigmoid loss) add to the scaled cosine; 0 for CLIP.
func (m *Model) LogitBias() float32 { return m.logitBias }

// SigmoidProbs reports that the model's probabilities are the sigmoid of
// each logit, independently per image-text pair (SigLIP), not CLIP's
// softmax over the texts.
func (m *Model) SigmoidProbs() bool { return m.sigmoid }
