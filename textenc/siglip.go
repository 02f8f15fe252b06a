package textenc

import (
	"context"

	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/tensor"
)

// forwardSigLIP is SiglipTextTransformer: every position attends to every
// other (no causal mask, and transformers passes no attention mask, so
// padding takes part), final_layer_norm, the hidden state at the last
// position, then the head. It returns [len(ids), HeadSize()]. The ids
// must be padded as the model was trained (to max_position_embeddings
// with the pad id, as SiglipTokenizer(padding="max_length") does): the
// tower runs them as given.
func (m *Model) forwardSigLIP(ctx context.Context, ids [][]int32, opts *ForwardOptions) ([]float32, error) {
	w := m.cfg.HiddenSize
	b := m.getBuffers(len(ids))
	defer m.pool.Put(b)
	total := 0
	for s, seq := range ids {
		if err := m.emb.checkIDs(seq); err != nil {
			return nil, &InputError{Seq: s, Err: err}
		}
		b.lens[s], b.offs[s] = len(seq), total
		total += len(seq)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	b.x = encoder.Grow(b.x, total*w)
	x := b.x
	for s := range ids {
		m.emb.forward(x[b.offs[s]*w:], ids[s])
	}
	pooled := make([]float32, len(ids)*w)
	if opts == nil || opts.Hidden == nil {
		b.query = encoder.Grow(b.query, len(ids))
		for s, n := range b.lens {
			b.query[s] = n - 1
		}
		if err := m.enc.ForwardPooled(ctx, x, b.lens, b.query, pooled); err != nil {
			return nil, err
		}
	} else {
		if err := m.forwardHidden(ctx, x, b, len(ids), opts.Hidden, pooled); err != nil {
			return nil, err
		}
	}
	tensor.LayerNorm(m.wk, pooled, pooled, m.finalWeight, m.finalBias, len(ids), w, float32(m.cfg.LayerNormEps))
	out := make([]float32, len(ids)*m.cfg.HeadSize())
	m.head.Forward(m.wk, out, pooled, len(ids), tensor.ActNone)
	return out, nil
}

// forwardHidden runs every layer over the n sequences packed in x at
// b.offs/b.lens, handing each layer's hidden states of sequence s to
// hidden, and copies the last row of each sequence into pooled.
func (m *Model) forwardHidden(ctx context.Context, x []float32, b *buffers, n int, hidden func(index, seq int, h []float32), pooled []float32) error {
	w := m.cfg.HiddenSize
	offs, lens := b.offs, b.lens
	perLayer := func(index int, h []float32) {
		for s := 0; s < n; s++ {
			hidden(index, s, h[offs[s]*w:(offs[s]+lens[s])*w])
		}
	}
	if err := m.enc.Forward(ctx, x, lens, perLayer); err != nil {
		return err
	}
	for s := 0; s < n; s++ {
		last := offs[s] + lens[s] - 1
		copy(pooled[s*w:(s+1)*w], x[last*w:(last+1)*w])
	}
	return nil
}
