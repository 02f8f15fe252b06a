package textenc

import (
	"context"
	"fmt"

	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/tensor"
)

// Model is CLIPTextTransformer. It is immutable after New and safe for
// concurrent use.
type Model struct {
	cfg         Config
	emb         *embeddings
	enc         *encoder.Encoder
	finalWeight []float32      // final_layer_norm.weight [width]
	finalBias   []float32      // final_layer_norm.bias [width]
	head        *tensor.Linear // SigLIP's head: weight [projection_size, width], bias [projection_size]; nil in CLIP
	pool        encoder.Pool[buffers]
	wk          *tensor.Workers
}

// New loads the tower's weights from st under prefix (for a CLIPModel
// checkpoint, "text_model."). The tower computes on up to wk.N()
// goroutines (nil: the calling goroutine only).
func New(cfg Config, st tensor.Store, prefix string, wk *tensor.Workers) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ec, _ := cfg.encoderConfig()
	ec.Workers = wk
	m := &Model{cfg: cfg, wk: wk}
	var err error
	if m.emb, err = loadEmbeddings(st, prefix+"embeddings.", &m.cfg); err != nil {
		return nil, err
	}
	if m.enc, err = encoder.Load(st, prefix+"encoder.", ec); err != nil {
		return nil, err
	}
	if m.finalWeight, m.finalBias, err = encoder.LoadLayerNorm(st, prefix+"final_layer_norm", cfg.HiddenSize); err != nil {
		return nil, err
	}
	if cfg.SigLIP {
		if m.head, err = encoder.LoadLinear(st, prefix+"head", cfg.HeadSize(), cfg.HiddenSize, wk); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Config returns the tower's config.
func (m *Model) Config() Config { return m.cfg }

// PoolIndex is the position whose final hidden state is the pooled output,
// as transformers chooses it: with eos_token_id 2 the (first) position of
// the highest token id, otherwise the first position holding eos_token_id
// (0 if there is none). Config.Pooling and SigLIP override the rule.
func (m *Model) PoolIndex(ids []int32) int {
	if m.cfg.SigLIP || m.cfg.Pooling == "last" {
		return len(ids) - 1
	}
	best := 0
	if m.cfg.Pooling == "argmax" || m.cfg.Pooling == "" && m.cfg.EOSTokenID == 2 {
		for i, id := range ids {
			if id > ids[best] {
				best = i
			}
		}
		return best
	}
	for i, id := range ids {
		if int(id) == m.cfg.EOSTokenID {
			return i
		}
	}
	return 0
}

// ForwardOptions request extra outputs; nil means none.
type ForwardOptions struct {
	// Hidden, if set, receives the hidden states of sequence s: index 0 the
	// embeddings, index l the output of encoder layer l, each [tokens,
	// width] for the tokens actually computed (positions 0…PoolIndex, as
	// the causal mask makes later positions irrelevant to the pooled
	// output). The slice is only valid during the call.
	Hidden func(index, seq int, h []float32)
}

// Forward encodes token-id sequences (BOS … EOS, optionally padded after
// EOS) and returns the pooled outputs [len(ids), width]: final_layer_norm
// of the hidden state at PoolIndex. Only positions up to PoolIndex are
// computed, which under the causal mask gives the same result.
func (m *Model) Forward(ctx context.Context, ids [][]int32, opts *ForwardOptions) ([]float32, error) {
	if m.cfg.SigLIP {
		return m.forwardSigLIP(ctx, ids, opts)
	}
	w := m.cfg.HiddenSize
	b := m.getBuffers(len(ids))
	defer m.pool.Put(b)
	total := 0
	for s, seq := range ids {
		if err := m.emb.checkIDs(seq); err != nil {
			return nil, &InputError{Seq: s, Err: err}
		}
		b.lens[s] = m.PoolIndex(seq) + 1
		b.offs[s] = total
		total += b.lens[s]
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pooled := make([]float32, len(ids)*w)
	if opts == nil || opts.Hidden == nil {
		// Only the EOS rows are pooled, so under the causal mask each
		// distinct prefix (the BOS of every text, "a photo of a" of every
		// prompt of a template) needs computing once; the last layer runs
		// for the pooled rows only.
		rows := m.sharePrefixes(b, ids)
		b.x = encoder.Grow(b.x, rows*w)
		for r, tok := range b.nodeTok {
			m.emb.forwardAt(b.x[r*w:(r+1)*w], tok, b.nodePos[r])
		}
		if err := m.enc.ForwardShared(ctx, b.x, rows, b.seqs, b.pooled, pooled); err != nil {
			return nil, err
		}
	} else {
		b.x = encoder.Grow(b.x, total*w)
		x := b.x
		for s := range ids {
			m.emb.forward(x[b.offs[s]*w:], ids[s][:b.lens[s]])
		}
		if err := m.forwardHidden(ctx, x, b, len(ids), opts.Hidden, pooled); err != nil {
			return nil, err
		}
	}
	tensor.LayerNorm(m.wk, pooled, pooled, m.finalWeight, m.finalBias, len(ids), w, float32(m.cfg.LayerNormEps))
	return pooled, nil
}

// sharePrefixes numbers the distinct prefixes of the sequences ids[s][:lens[s]]
// (a trie): each becomes one row, its last token and position in
// b.nodeTok and b.nodePos. It fills b.seqs, which computes every row once
// (the new rows of sequence s are consecutive: once its prefix differs
// from every earlier sequence's, all its later prefixes are new), and
// b.pooled, the EOS row of each sequence. It returns the number of rows.
func (m *Model) sharePrefixes(b *buffers, ids [][]int32) int {
	if b.nodes == nil {
		b.nodes = make(map[uint64]int)
	}
	clear(b.nodes)
	b.nodeTok, b.nodePos = b.nodeTok[:0], b.nodePos[:0]
	total := 0
	for _, n := range b.lens {
		total += n
	}
	if cap(b.paths) < total {
		b.paths = make([]int, 0, total)
	}
	b.paths = b.paths[:0]
	b.seqs, b.pooled = b.seqs[:0], b.pooled[:0]
	for s, seq := range ids {
		n := b.lens[s]
		start := len(b.paths)
		q0 := n
		parent := -1
		for i, id := range seq[:n] {
			key := uint64(parent+1)<<32 | uint64(uint32(id))
			r, ok := b.nodes[key]
			if !ok {
				r = len(b.nodeTok)
				b.nodes[key] = r
				b.nodeTok = append(b.nodeTok, id)
				b.nodePos = append(b.nodePos, i)
				q0 = min(q0, i)
			}
			b.paths = append(b.paths, r)
			parent = r
		}
		path := b.paths[start:len(b.paths):len(b.paths)]
		sq := tensor.AttnSeq{N: n, Rows: path, Q0: q0, Q1: n}
		if q0 < n {
			sq.Out = path[q0]
			b.seqs = append(b.seqs, sq)
		}
		b.pooled = append(b.pooled, tensor.AttnSeq{N: n, Rows: path, Q0: n - 1, Q1: n, Out: s})
	}
	return len(b.nodeTok)
}

// buffers are the per-call activations of Forward outside the encoder.
type buffers struct {
	x          []float32 // [rows, width] hidden states
	lens, offs []int     // per sequence: tokens computed, first row
	query      []int     // SigLIP: per sequence, the pooled (last) position
	// The prefix trie of sharePrefixes: row of (parent row+1, token id),
	// each row's token and position, the rows of each sequence's tokens.
	nodes        map[uint64]int
	nodeTok      []int32
	nodePos      []int
	paths        []int
	seqs, pooled []tensor.AttnSeq
}

// getBuffers returns pooled scratch for n sequences (x is sized later).
func (m *Model) getBuffers(n int) *buffers {
	b := m.pool.Get()
	b.lens, b.offs = encoder.Grow(b.lens, n), encoder.Grow(b.offs, n)
	return b
}

// InputError reports an invalid token sequence.
type InputError struct {
	Seq int // index of the sequence in the batch
	Err error
}

func (e *InputError) Error() string { return fmt.Sprintf("textenc: sequence %d: %v", e.Seq, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }
