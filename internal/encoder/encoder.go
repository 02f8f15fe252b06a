package encoder

import (
	"context"
	"fmt"

	"github.com/goclip/goclip/tensor"
)

// Encoder is CLIPEncoder: a stack of Layers. It is immutable after Load and
// safe for concurrent use; scratch buffers come from an internal pool.
type Encoder struct {
	cfg    Config
	layers []*Layer
	pool   Pool[scratch]
}

// Load reads prefix+"layers.{i}." for i < cfg.Layers
// (prefix is e.g. "vision_model.encoder.").
func Load(st tensor.Store, prefix string, cfg Config) (*Encoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Encoder{cfg: cfg, layers: make([]*Layer, cfg.Layers)}
	for i := range e.layers {
		l, err := loadLayer(st, fmt.Sprintf("%slayers.%d.", prefix, i), &e.cfg)
		if err != nil {
			return nil, err
		}
		e.layers[i] = l
		// The layer holds packed copies of its matrices: a memory-mapped
		// store may release the pages read for it, which keeps the peak
		// resident memory of loading near one copy of the model.
		if d, ok := st.(interface{ DropPages() }); ok {
			d.DropPages()
		}
	}
	return e, nil
}

// Config returns the encoder's shape.
func (e *Encoder) Config() Config { return e.cfg }

// Forward runs every layer over x [sum(lens), width] in place; lens are the
// lengths of the packed sequences. If hidden is not nil it is called with x
// before the first layer (index 0) and after each layer i (index i+1); the
// slice is only valid during the call. Forward returns ctx.Err() if the
// context is cancelled between layers.
func (e *Encoder) Forward(ctx context.Context, x []float32, lens []int, hidden func(index int, x []float32)) error {
	rows := sum(lens)
	if len(x) < rows*e.cfg.Width {
		return fmt.Errorf("encoder: input has %d values, want %d×%d", len(x), rows, e.cfg.Width)
	}
	s := e.getScratch(rows)
	defer e.pool.Put(s)
	s.seqs = seqsOf(s.seqs, lens, nil)
	if hidden != nil {
		hidden(0, x[:rows*e.cfg.Width])
	}
	for i, l := range e.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.forward(x, rows, s.seqs, s, &e.cfg)
		if hidden != nil {
			hidden(i+1, x[:rows*e.cfg.Width])
		}
	}
	return nil
}

// ForwardPooled runs every layer over x [sum(lens), width] and writes to
// out [len(lens), width] the final hidden state of row query[s] of each
// sequence s (query[s] in [0, lens[s])): what Forward leaves in those rows.
// The last layer is computed for those rows only (its attention still
// reads the keys and values of every row). x is overwritten with the
// hidden states before the last layer. It returns ctx.Err() if the context
// is cancelled between layers.
func (e *Encoder) ForwardPooled(ctx context.Context, x []float32, lens, query []int, out []float32) error {
	rows, w := sum(lens), e.cfg.Width
	if len(x) < rows*w || len(out) < len(lens)*w || len(query) != len(lens) {
		return fmt.Errorf("encoder: ForwardPooled: %d values for %d rows, %d outputs for %d sequences, %d query rows",
			len(x), rows, len(out), len(lens), len(query))
	}
	for i, q := range query {
		if q < 0 || q >= lens[i] {
			return fmt.Errorf("encoder: ForwardPooled: query row %d outside sequence %d of %d rows", q, i, lens[i])
		}
	}
	s := e.getScratch(rows)
	defer e.pool.Put(s)
	s.seqs = seqsOf(s.seqs, lens, nil)
	s.pooled = seqsOf(s.pooled, lens, query)
	return e.forwardPooled(ctx, x, rows, s.seqs, s.pooled, out, s)
}

// ForwardShared is ForwardPooled for rows shared between sequences (a
// common prompt prefix computed once; causal encoders only): x [rows,
// width] holds every distinct row, seqs (tensor.AttentionSeqs) compute
// each row exactly once, and pooled[i] (Q1 = Q0+1, Out = i) names the
// token whose final hidden state goes to out row i.
func (e *Encoder) ForwardShared(ctx context.Context, x []float32, rows int, seqs, pooled []tensor.AttnSeq, out []float32) error {
	w := e.cfg.Width
	if len(x) < rows*w || len(out) < len(pooled)*w {
		return fmt.Errorf("encoder: ForwardShared: %d values for %d rows, %d outputs for %d pooled rows",
			len(x), rows, len(out), len(pooled))
	}
	if !e.cfg.Causal {
		return fmt.Errorf("encoder: ForwardShared needs a causal encoder (shared rows would see different keys)")
	}
	// The last layer works on the pooled rows, which outnumber the
	// computed rows when sequences are duplicates (every token shared).
	s := e.getScratch(max(rows, len(pooled)))
	defer e.pool.Put(s)
	return e.forwardPooled(ctx, x, rows, seqs, pooled, out, s)
}

func (e *Encoder) forwardPooled(ctx context.Context, x []float32, rows int, seqs, pooled []tensor.AttnSeq, out []float32, s *scratch) error {
	w := e.cfg.Width
	if len(e.layers) == 0 {
		for i := range pooled {
			row := pooled[i].Row(pooled[i].Q0)
			copy(out[i*w:(i+1)*w], x[row*w:(row+1)*w])
		}
		return nil
	}
	last := len(e.layers) - 1
	for _, l := range e.layers[:last] {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.forward(x, rows, seqs, s, &e.cfg)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	e.layers[last].forwardPooled(out, x, rows, pooled, s, &e.cfg)
	return nil
}

// seqsOf describes packed sequences of lens for tensor.AttentionSeqs,
// reusing buf: every row, or with query the one token query[i] of each
// sequence, written to row i.
func seqsOf(buf []tensor.AttnSeq, lens, query []int) []tensor.AttnSeq {
	buf = buf[:0]
	off := 0
	for i, n := range lens {
		sq := tensor.AttnSeq{Off: off, N: n, Q0: 0, Q1: n, Out: off}
		if query != nil {
			sq.Q0, sq.Q1, sq.Out = query[i], query[i]+1, i
		}
		buf = append(buf, sq)
		off += n
	}
	return buf
}

// scratch holds the per-call activations of one Forward.
type scratch struct {
	h, ctx []float32 // [rows, width]
	qkv    []float32 // [rows, 3·width]
	mid    []float32 // [rows, intermediate]
	seqs   []tensor.AttnSeq
	pooled []tensor.AttnSeq
}

func (e *Encoder) getScratch(rows int) *scratch {
	s := e.pool.Get()
	n := rows * e.cfg.Width
	s.h = Grow(s.h, n)
	s.ctx = Grow(s.ctx, n)
	s.qkv = Grow(s.qkv, 3*n)
	s.mid = Grow(s.mid, rows*e.cfg.Intermediate)
	return s
}

func sum(lens []int) int {
	n := 0
	for _, l := range lens {
		n += l
	}
	return n
}
