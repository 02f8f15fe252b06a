package vit

import (
	"fmt"

	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/tensor"
)

// embeddings is CLIPVisionEmbeddings: a stride-P convolution without bias
// over the image (computed as a Linear over flattened patches), a learned
// class token prepended, and learned position embeddings added. SigLIP's
// (SiglipVisionEmbeddings) has a convolution bias and no class token.
type embeddings struct {
	patch *tensor.Linear // patch_embedding.weight [width, channels, P, P] viewed as [width, channels·P·P]; SigLIP: bias [width]
	class []float32      // class_embedding [width]; nil in SigLIP
	pos   []float32      // position_embedding.weight [tokens, width]
	cfg   *Config
	wk    *tensor.Workers
}

func loadEmbeddings(st tensor.Store, prefix string, c *Config, wk *tensor.Workers) (*embeddings, error) {
	w, p := c.HiddenSize, c.PatchSize
	k := c.NumChannels * p * p
	pw, err := encoder.Tensor(st, prefix+"patch_embedding.weight", w, c.NumChannels, p, p)
	if err != nil {
		return nil, err
	}
	var pb []float32
	if c.SigLIP {
		if pb, err = encoder.Tensor(st, prefix+"patch_embedding.bias", w); err != nil {
			return nil, err
		}
	}
	patch, err := tensor.NewLinear(wk, pw, pb, w, k)
	if err != nil {
		return nil, fmt.Errorf("%spatch_embedding: %w", prefix, err)
	}
	var class []float32
	if !c.SigLIP {
		if class, err = encoder.Tensor(st, prefix+"class_embedding", w); err != nil {
			return nil, err
		}
	}
	pos, err := encoder.Tensor(st, prefix+"position_embedding.weight", c.Tokens(), w)
	if err != nil {
		return nil, err
	}
	return &embeddings{patch: patch, class: class, pos: pos, cfg: c, wk: wk}, nil
}

// im2col writes the patches of one image px [channels, S, S] to cols
// [grid², channels·P·P]: row gy·g+gx holds the patch in (channel, y, x)
// order, the order of the flattened convolution kernel.
func (e *embeddings) im2col(cols, px []float32) {
	c := e.cfg
	g, p, s := c.Grid(), c.PatchSize, c.ImageSize
	k := c.NumChannels * p * p
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
}

// forward writes the embeddings of n images px [n, channels, S, S] to dst
// [n·tokens, width]. cols is scratch [n·grid², channels·P·P] and patches
// scratch [n·grid², width]: the patch embedding of the whole batch is one
// product.
func (e *embeddings) forward(dst, px, cols, patches []float32, n int) {
	c := e.cfg
	g, s, w, t := c.Grid(), c.ImageSize, c.HiddenSize, c.Tokens()
	k := c.NumChannels * c.PatchSize * c.PatchSize
	per := c.NumChannels * s * s
	e.wk.Parallel(n, func(i int) {
		e.im2col(cols[i*g*g*k:(i+1)*g*g*k], px[i*per:(i+1)*per])
	})
	e.patch.Forward(e.wk, patches, cols, n*g*g, tensor.ActNone)
	if e.class == nil {
		for i := 0; i < n; i++ {
			img, src := dst[i*t*w:(i+1)*t*w], patches[i*t*w:(i+1)*t*w]
			for j := range img {
				img[j] = src[j] + e.pos[j]
			}
		}
		return
	}
	for i := 0; i < n; i++ {
		img := dst[i*t*w : (i+1)*t*w]
		for j, v := range e.class {
			img[j] = v + e.pos[j]
		}
		src := patches[i*g*g*w : (i+1)*g*g*w]
		pos := e.pos[w : t*w]
		body := img[w:]
		for j := range body {
			body[j] = src[j] + pos[j]
		}
	}
}
