package textenc

import (
	"fmt"

	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/tensor"
)

// embeddings is CLIPTextEmbeddings: token embedding plus learned absolute
// position embedding (positions 0…len-1).
type embeddings struct {
	token []float32 // token_embedding.weight [vocab, width]
	pos   []float32 // position_embedding.weight [max_position_embeddings, width]
	cfg   *Config
}

func loadEmbeddings(st tensor.Store, prefix string, c *Config) (*embeddings, error) {
	tok, err := encoder.Tensor(st, prefix+"token_embedding.weight", c.VocabSize, c.HiddenSize)
	if err != nil {
		return nil, err
	}
	pos, err := encoder.Tensor(st, prefix+"position_embedding.weight", c.MaxPositionEmbeddings, c.HiddenSize)
	if err != nil {
		return nil, err
	}
	return &embeddings{token: tok, pos: pos, cfg: c}, nil
}

// forward writes the embeddings of ids to dst [len(ids), width]. The ids
// must have been checked against the vocabulary.
func (e *embeddings) forward(dst []float32, ids []int32) {
	w := e.cfg.HiddenSize
	for i, id := range ids {
		row := dst[i*w : (i+1)*w]
		tok := e.token[int(id)*w : (int(id)+1)*w]
		pos := e.pos[i*w : (i+1)*w]
		for j := range row {
			row[j] = tok[j] + pos[j]
		}
	}
}

// forwardAt writes the embedding of token id at position pos to dst
// [width]; id and pos must have been checked.
func (e *embeddings) forwardAt(dst []float32, id int32, pos int) {
	w := e.cfg.HiddenSize
	tok := e.token[int(id)*w : (int(id)+1)*w]
	p := e.pos[pos*w : (pos+1)*w]
	for j := range dst[:w] {
		dst[j] = tok[j] + p[j]
	}
}

// checkIDs validates one sequence.
func (e *embeddings) checkIDs(ids []int32) error {
	if len(ids) == 0 {
		return fmt.Errorf("empty token sequence")
	}
	if len(ids) > e.cfg.MaxPositionEmbeddings {
		return fmt.Errorf("%d tokens exceed max_position_embeddings %d", len(ids), e.cfg.MaxPositionEmbeddings)
	}
	for i, id := range ids {
		if id < 0 || int(id) >= e.cfg.VocabSize {
			return fmt.Errorf("token %d at position %d is outside the vocabulary [0,%d)", id, i, e.cfg.VocabSize)
		}
	}
	return nil
}
