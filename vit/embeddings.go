package vit

import (
	"fmt"

	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/tensor"
)

// Embeddings is CLIPVisionEmbeddings: a stride-P convolution without bias
// over the image (computed as a Linear over flattened patches), a learned
// class token prepended, and learned position embeddings added.
type Embeddings struct {
	patch *tensor.Linear // patch_embedding.weight [width, channels, P, P] viewed as [width, channels·P·P]
	class []float32      // class_embedding [width]
	pos   []float32      // position_embedding.weight [grid²+1, width]
	cfg   *Config
}

func loadEmbeddings(st tensor.Store, prefix string, c *Config) (*Embeddings, error) {
	w, p := c.HiddenSize, c.PatchSize
	k := c.NumChannels * p * p
	pw, err := encoder.Tensor(st, prefix+"patch_embedding.weight", w, c.NumChannels, p, p)
	if err != nil {
		return nil, err
	}
	patch, err := tensor.NewLinear(pw, nil, w, k)
	if err != nil {
		return nil, fmt.Errorf("%spatch_embedding: %w", prefix, err)
	}
	class, err := encoder.Tensor(st, prefix+"class_embedding", w)
	if err != nil {
		return nil, err
	}
	pos, err := encoder.Tensor(st, prefix+"position_embedding.weight", c.Tokens(), w)
	if err != nil {
		return nil, err
	}
	return &Embeddings{patch: patch, class: class, pos: pos, cfg: c}, nil
}

// forward writes the embeddings of one image px [channels, S, S] to dst
// [tokens, width]; cols is scratch [grid², channels·P·P].
func (e *Embeddings) forward(dst, px, cols []float32) {
	c := e.cfg
	g, p, s, w := c.Grid(), c.PatchSize, c.ImageSize, c.HiddenSize
	k := c.NumChannels * p * p
	// im2col: row gy·g+gx holds the patch in (channel, y, x) order, the
	// order of the flattened convolution kernel.
	for gy := 0; gy < g; gy++ {
		for gx := 0; gx < g; gx++ {
			row := cols[(gy*g+gx)*k:]
			i := 0
			for ch := 0; ch < c.NumChannels; ch++ {
				for y := 0; y < p; y++ {
					src := px[ch*s*s+(gy*p+y)*s+gx*p:]
					copy(row[i:i+p], src[:p])
					i += p
				}
			}
		}
	}
	copy(dst[:w], e.class)
	e.patch.Forward(dst[w:], cols, g*g, tensor.ActNone)
	tensor.AddTo(dst[:c.Tokens()*w], e.pos)
}
