package vit

import (
	"context"
	"fmt"
	"math"

	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/tensor"
)

// Model is CLIPVisionTransformer. It is immutable after New and safe for
// concurrent use.
type Model struct {
	cfg        Config
	emb        *embeddings       // nil in NaFlex
	nf         *naflexEmbeddings // NaFlex only
	preWeight  []float32         // pre_layrnorm.weight [width]
	preBias    []float32         // pre_layrnorm.bias [width]
	enc        *encoder.Encoder
	postWeight []float32 // post_layernorm.weight [width]
	postBias   []float32 // post_layernorm.bias [width]
	head       *poolHead // SigLIP's attention pooling head ("head."); nil in CLIP
	pool       encoder.Pool[buffers]
	wk         *tensor.Workers
}

// buffers are the per-call activations of Forward outside the encoder.
type buffers struct {
	x       []float32 // [n·tokens, width] hidden states
	cols    []float32 // [n·grid², channels·P·P] im2col of the patches
	patches []float32 // [n·grid², width] patch embeddings
	lens    []int     // n × tokens
	query   []int     // n × 0: the class token is pooled
	// SigLIP's head: keys and values [n·tokens, 2·width], attention
	// output [n, width], MLP [n, intermediate].
	kv, ctx, mid []float32
}

// New loads the tower's weights from st under prefix (for a CLIPModel
// checkpoint, "vision_model."). The tower computes on up to wk.N()
// goroutines (nil: the calling goroutine only).
func New(cfg Config, st tensor.Store, prefix string, wk *tensor.Workers) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ec, _ := cfg.encoderConfig()
	ec.Workers = wk
	m := &Model{cfg: cfg, wk: wk}
	var err error
	if cfg.NaFlex {
		m.nf, err = loadNaFlexEmbeddings(st, prefix+"embeddings.", &m.cfg, wk)
	} else {
		m.emb, err = loadEmbeddings(st, prefix+"embeddings.", &m.cfg, wk)
	}
	if err != nil {
		return nil, err
	}
	// "pre_layrnorm" is the real (misspelt) name in every CLIP checkpoint.
	if !cfg.SigLIP && !cfg.NoPreLayerNorm {
		if m.preWeight, m.preBias, err = encoder.LoadLayerNorm(st, prefix+"pre_layrnorm", cfg.HiddenSize); err != nil {
			return nil, err
		}
	}
	if m.enc, err = encoder.Load(st, prefix+"encoder.", ec); err != nil {
		return nil, err
	}
	if m.postWeight, m.postBias, err = encoder.LoadLayerNorm(st, prefix+"post_layernorm", cfg.HiddenSize); err != nil {
		return nil, err
	}
	if cfg.SigLIP {
		if m.head, err = loadPoolHead(st, prefix+"head.", &m.cfg, &ec); err != nil {
			return nil, err
		}
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
// output [n, width]: post_layernorm of the class token, or in SigLIP the
// attention pooling head's output over every post_layernorm'd token.
func (m *Model) Forward(ctx context.Context, px []float32, n int, opts *ForwardOptions) ([]float32, error) {
	c := &m.cfg
	if c.NaFlex {
		return nil, fmt.Errorf("vit: a NaFlex (SigLIP 2) tower takes patches of variable grids; use ForwardPatches")
	}
	s, w, t := c.ImageSize, c.HiddenSize, c.Tokens()
	if per := c.NumChannels * s * s; n < 0 || len(px)%per != 0 || len(px)/per != n { // n·per could overflow
		return nil, fmt.Errorf("vit: %d pixel values for %d images, want %d each (%d×%d×%d)",
			len(px), n, c.NumChannels*s*s, c.NumChannels, s, s)
	}
	if n == 0 {
		return nil, nil
	}
	if err := checkPixels(px, c.NumChannels*s*s); err != nil {
		return nil, err
	}
	b := m.getBuffers(n)
	defer m.pool.Put(b)
	x := b.x
	m.emb.forward(x, px, b.cols, b.patches, n)
	if m.preWeight != nil {
		tensor.LayerNorm(m.wk, x, x, m.preWeight, m.preBias, n*t, w, float32(c.LayerNormEps))
	}
	pooled := make([]float32, n*w)
	if m.head != nil {
		var hidden func(int, []float32)
		if opts != nil && opts.Hidden != nil {
			hidden = func(index int, h []float32) {
				for i := 0; i < n; i++ {
					opts.Hidden(index, i, h[i*t*w:(i+1)*t*w])
				}
			}
		}
		if err := m.enc.Forward(ctx, x, b.lens, hidden); err != nil {
			return nil, err
		}
		tensor.LayerNorm(m.wk, x, x, m.postWeight, m.postBias, n*t, w, float32(c.LayerNormEps))
		m.head.forward(pooled, x, b.lens, b.kv, b.ctx, b.mid)
		return pooled, nil
	}
	if opts == nil || opts.Hidden == nil {
		// Only the class tokens are pooled: the last layer runs for them.
		if err := m.enc.ForwardPooled(ctx, x, b.lens, b.query, pooled); err != nil {
			return nil, err
		}
	} else {
		hidden := func(index int, h []float32) {
			for i := 0; i < n; i++ {
				opts.Hidden(index, i, h[i*t*w:(i+1)*t*w])
			}
		}
		if err := m.enc.Forward(ctx, x, b.lens, hidden); err != nil {
			return nil, err
		}
		for i := 0; i < n; i++ {
			copy(pooled[i*w:(i+1)*w], x[i*t*w:])
		}
	}
	tensor.LayerNorm(m.wk, pooled, pooled, m.postWeight, m.postBias, n, w, float32(c.LayerNormEps))
	return pooled, nil
}

// PixelError reports a pixel value that is NaN or infinite: one would
// spread through attention to every output value, so it is rejected
// instead of giving a NaN embedding.
type PixelError struct {
	Image int     // index of the image in the batch
	Index int     // index of the value within the image's [channels,S,S]
	Value float32 // the value
}

func (e *PixelError) Error() string {
	return fmt.Sprintf("vit: image %d: pixel value %g at index %d is not finite", e.Image, e.Value, e.Index)
}

// checkPixels reports the first NaN or Inf in px, images of per values
// each.
func checkPixels(px []float32, per int) error {
	for i, v := range px {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return &PixelError{Image: i / per, Index: i % per, Value: v}
		}
	}
	return nil
}

// getBuffers returns pooled scratch sized for n images.
func (m *Model) getBuffers(n int) *buffers {
	b := m.pool.Get()
	c := &m.cfg
	gg, t, w := c.Grid()*c.Grid(), c.Tokens(), c.HiddenSize
	b.x = encoder.Grow(b.x, n*t*w)
	b.cols = encoder.Grow(b.cols, n*gg*c.NumChannels*c.PatchSize*c.PatchSize)
	b.patches = encoder.Grow(b.patches, n*gg*w)
	if m.head != nil {
		b.kv = encoder.Grow(b.kv, n*t*2*w)
		b.ctx = encoder.Grow(b.ctx, n*w)
		b.mid = encoder.Grow(b.mid, n*c.IntermediateSize)
	}
	b.lens, b.query = b.lens[:0], b.query[:0]
	for i := 0; i < n; i++ {
		b.lens = append(b.lens, t)
		b.query = append(b.query, 0)
	}
	return b
}
