package vit

import (
	"context"
	"fmt"
	"sync"

	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/tensor"
)

// Model is CLIPVisionTransformer. It is immutable after New and safe for
// concurrent use.
type Model struct {
	cfg        Config
	emb        *Embeddings
	preWeight  []float32 // pre_layrnorm.weight [width]
	preBias    []float32 // pre_layrnorm.bias [width]
	enc        *encoder.Encoder
	postWeight []float32 // post_layernorm.weight [width]
	postBias   []float32 // post_layernorm.bias [width]
	pool       sync.Pool // *[]float32 im2col scratch
}

// New loads the tower's weights from st under prefix (for a CLIPModel
// checkpoint, "vision_model.").
func New(cfg Config, st tensor.Store, prefix string) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ec, _ := cfg.encoderConfig()
	m := &Model{cfg: cfg}
	var err error
	if m.emb, err = loadEmbeddings(st, prefix+"embeddings.", &m.cfg); err != nil {
		return nil, err
	}
	// "pre_layrnorm" is the real (misspelt) name in every CLIP checkpoint.
	if m.preWeight, m.preBias, err = encoder.LoadLayerNorm(st, prefix+"pre_layrnorm", cfg.HiddenSize); err != nil {
		return nil, err
	}
	if m.enc, err = encoder.Load(st, prefix+"encoder.", ec); err != nil {
		return nil, err
	}
	if m.postWeight, m.postBias, err = encoder.LoadLayerNorm(st, prefix+"post_layernorm", cfg.HiddenSize); err != nil {
		return nil, err
	}
	return m, nil
}

// Config returns the tower's config.
func (m *Model) Config() Config { return m.cfg }

// ForwardOptions request extra outputs; nil means none.
type ForwardOptions struct {
	// Hidden, if set, receives the hidden states of image i: index 0 after
	// pre_layrnorm (the encoder input), index l after encoder layer l, each
	// [tokens, width], as transformers' hidden_states. The slice is only
	// valid during the call.
	Hidden func(index, image int, h []float32)
}

// Forward embeds n images px [n, channels, S, S] and returns the pooled
// output (post_layernorm of the class token) [n, width].
func (m *Model) Forward(ctx context.Context, px []float32, n int, opts *ForwardOptions) ([]float32, error) {
	c := &m.cfg
	s, w, t := c.ImageSize, c.HiddenSize, c.Tokens()
	if n < 0 || len(px) != n*c.NumChannels*s*s {
		return nil, fmt.Errorf("vit: %d pixel values for %d images, want %d each (%d×%d×%d)",
			len(px), n, c.NumChannels*s*s, c.NumChannels, s, s)
	}
	if n == 0 {
		return nil, nil
	}
	x := make([]float32, n*t*w)
	encoder.Parallel(n, func(i int) {
		cols := m.getCols()
		m.emb.forward(x[i*t*w:(i+1)*t*w], px[i*c.NumChannels*s*s:], *cols)
		m.pool.Put(cols)
	})
	tensor.LayerNorm(x, x, m.preWeight, m.preBias, n*t, w, float32(c.LayerNormEps))
	lens := make([]int, n)
	for i := range lens {
		lens[i] = t
	}
	var hidden func(int, []float32)
	if opts != nil && opts.Hidden != nil {
		hidden = func(index int, h []float32) {
			for i := 0; i < n; i++ {
				opts.Hidden(index, i, h[i*t*w:(i+1)*t*w])
			}
		}
	}
	if err := m.enc.Forward(ctx, x, lens, hidden); err != nil {
		return nil, err
	}
	pooled := make([]float32, n*w)
	for i := 0; i < n; i++ {
		copy(pooled[i*w:(i+1)*w], x[i*t*w:])
	}
	tensor.LayerNorm(pooled, pooled, m.postWeight, m.postBias, n, w, float32(c.LayerNormEps))
	return pooled, nil
}

func (m *Model) getCols() *[]float32 {
	if b, ok := m.pool.Get().(*[]float32); ok {
		return b
	}
	c := &m.cfg
	b := make([]float32, c.Grid()*c.Grid()*c.NumChannels*c.PatchSize*c.PatchSize)
	return &b
}
