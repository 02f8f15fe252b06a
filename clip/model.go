// Package clip loads Hugging Face CLIP checkpoints and computes image and
// text embeddings, similarity matrices and zero-shot classifications that
// match the transformers implementation to float32 precision.
package clip

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/tensor"
	"github.com/goclip/goclip/textenc"
	"github.com/goclip/goclip/tokenizer"
	"github.com/goclip/goclip/vit"
)

// Model is a loaded CLIP model (transformers' CLIPModel). After Load it is
// safe for concurrent use.
type Model struct {
	cfg        Config
	vision     *vit.Model
	text       *textenc.Model
	visualProj *tensor.Linear // visual_projection.weight [projection_dim, vision hidden_size], no bias
	textProj   *tensor.Linear // text_projection.weight [projection_dim, text hidden_size], no bias
	logitScale float32        // exp(logit_scale); logit_scale is a scalar []
	weights    weightStore
	tok        *tokenizer.Tokenizer
}

// LoadOptions tune Load; nil means defaults.
type LoadOptions struct{}

// Batch sizes of one pass through a tower: large enough for efficient
// matrix products, small enough to bound scratch memory. Activations take
// about (6·width + intermediate)·4 bytes per token: a chunk of 32 ViT-B/32
// images (1,600 tokens) about 50 MB; for larger towers the image chunk
// shrinks to keep about chunkTokens tokens (ViT-L/14-336: 3 images).
const (
	imageChunk  = 32
	textChunk   = 32
	chunkTokens = 2048
)

// imagesPerChunk is the number of images per vision forward pass.
func (m *Model) imagesPerChunk() int {
	return max(1, min(imageChunk, chunkTokens/m.cfg.VisionConfig.Tokens()))
}

// Load reads a Hugging Face model folder (config.json, model.safetensors
// or the shards of model.safetensors.index.json, tokenizer files). The
// weights are memory-mapped; Close releases them.
func Load(dir string, opts *LoadOptions) (*Model, error) {
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	w, err := openWeightStore(dir)
	if err != nil {
		return nil, err
	}
	m, err := New(*cfg, w)
	if err != nil {
		w.Close()
		return nil, err
	}
	m.weights = w
	tok, err := loadTokenizer(dir)
	if err != nil {
		w.Close()
		return nil, err
	}
	m.tok = tok
	return m, nil
}

// New builds a model from a config and a weight store (for example
// *Weights). The store's slices are retained. The model has no tokenizer
// unless loaded with Load.
func New(cfg Config, st tensor.Store) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg}
	var err error
	if m.vision, err = vit.New(cfg.VisionConfig, st, "vision_model."); err != nil {
		return nil, err
	}
	// The towers keep packed copies of their matrices, so the mapped pages
	// read so far need not stay resident (the few tensors used in place,
	// embeddings and layer-norm parameters, fault back in on use).
	dropStorePages(st)
	if m.text, err = textenc.New(cfg.TextConfig, st, "text_model."); err != nil {
		return nil, err
	}
	p := cfg.ProjectionDim
	if m.visualProj, err = loadProjection(st, "visual_projection.weight", p, cfg.VisionConfig.HiddenSize); err != nil {
		return nil, err
	}
	if m.textProj, err = loadProjection(st, "text_projection.weight", p, cfg.TextConfig.HiddenSize); err != nil {
		return nil, err
	}
	ls, err := encoder.Tensor(st, "logit_scale")
	if err != nil {
		return nil, err
	}
	m.logitScale = float32(math.Exp(float64(ls[0])))
	dropStorePages(st)
	return m, nil
}

func dropStorePages(st tensor.Store) {
	if w, ok := st.(interface{ DropPages() }); ok {
		w.DropPages()
	}
}

// openWeightStore opens dir/model.safetensors, or the shards listed in
// dir/model.safetensors.index.json.
func openWeightStore(dir string) (weightStore, error) {
	wpath := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(wpath); err == nil {
		return OpenWeights(wpath)
	}
	if ipath := wpath + ".index.json"; fileExists(ipath) {
		return openSharded(ipath)
	}
	if fileExists(filepath.Join(dir, "pytorch_model.bin")) {
		return nil, fmt.Errorf("clip: %s has only pytorch_model.bin; convert it to model.safetensors", dir)
	}
	return nil, fmt.Errorf("clip: no model weights in %s: model.safetensors not found", dir)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func loadProjection(st tensor.Store, name string, out, in int) (*tensor.Linear, error) {
	w, err := encoder.Tensor(st, name, out, in)
	if err != nil {
		return nil, err
	}
	l, err := tensor.NewLinear(w, nil, out, in)
	if err != nil {
		return nil, fmt.Errorf("clip: %s: %w", name, err)
	}
	return l, nil
}

// Close releases the memory-mapped weights. The Model must not be used after.
func (m *Model) Close() error {
	if m == nil || m.weights == nil {
		return nil
	}
	return m.weights.Close()
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Vision returns the vision tower (for hidden states and pooled outputs).
func (m *Model) Vision() *vit.Model { return m.vision }

// Text returns the text tower (for hidden states and pooled outputs).
func (m *Model) Text() *textenc.Model { return m.text }

// ImageSize is the side S of the [3,S,S] pixel input.
func (m *Model) ImageSize() int { return m.cfg.VisionConfig.ImageSize }

// EmbedDim is the projection dimension of both embeddings.
func (m *Model) EmbedDim() int { return m.cfg.ProjectionDim }

// LogitScale is exp(logit_scale), the factor CLIP multiplies cosine similarities by.
func (m *Model) LogitScale() float32 { return m.logitScale }

// EmbedPixels embeds n images given as pixel values [n,3,S,S]; it returns
// projected, unnormalised embeddings [n][EmbedDim] (get_image_features).
func (m *Model) EmbedPixels(ctx context.Context, pixels []float32, n int) ([][]float32, error) {
	vc := m.cfg.VisionConfig
	per := vc.NumChannels * vc.ImageSize * vc.ImageSize
	if n < 0 || len(pixels)%per != 0 || len(pixels)/per != n { // n·per could overflow
		return nil, fmt.Errorf("clip: EmbedPixels: %d values for %d images of [%d,%d,%d]", len(pixels), n, vc.NumChannels, vc.ImageSize, vc.ImageSize)
	}
	if err := vit.CheckPixels(pixels, per); err != nil { // indices in the whole batch
		return nil, fmt.Errorf("clip: %w", err)
	}
	out := make([][]float32, 0, n)
	chunk := m.imagesPerChunk()
	for i := 0; i < n; i += chunk {
		k := min(chunk, n-i)
		pooled, err := m.vision.Forward(ctx, pixels[i*per:(i+k)*per], k, nil)
		if err != nil {
			return nil, fmt.Errorf("clip: %w", err)
		}
		out = append(out, m.project(m.visualProj, pooled, k)...)
	}
	return out, nil
}

// EmbedTokens embeds token-id sequences (BOS … EOS, unpadded or padded);
// projected, unnormalised (get_text_features).
func (m *Model) EmbedTokens(ctx context.Context, ids [][]int32) ([][]float32, error) {
	out := make([][]float32, 0, len(ids))
	for i := 0; i < len(ids); i += textChunk {
		k := min(textChunk, len(ids)-i)
		pooled, err := m.text.Forward(ctx, ids[i:i+k], nil)
		if err != nil {
			var te *textenc.InputError
			if errors.As(err, &te) {
				te.Seq += i
			}
			return nil, fmt.Errorf("clip: %w", err)
		}
		out = append(out, m.project(m.textProj, pooled, k)...)
	}
	return out, nil
}

// EmbedTexts tokenizes texts with the model's tokenizer (BOS … EOS,
// truncated to 77 tokens keeping the EOS) and embeds them.
func (m *Model) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	if m.tok == nil {
		return nil, errors.New("clip: EmbedTexts: model has no tokenizer (made with New, not Load)")
	}
	ids := make([][]int32, len(texts))
	for i, t := range texts {
		ids[i] = m.tok.Encode(t)
	}
	return m.EmbedTokens(ctx, ids)
}

// project applies a projection to n pooled rows and splits the result.
func (m *Model) project(l *tensor.Linear, pooled []float32, n int) [][]float32 {
	d := m.cfg.ProjectionDim
	flat := make([]float32, n*d)
	l.Forward(flat, pooled, n, tensor.ActNone)
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = flat[i*d : (i+1)*d : (i+1)*d]
	}
	return rows
}

// Logits returns CLIP's logits_per_image [len(images)][len(texts)]:
// LogitScale times the cosine similarity. The inputs are not modified.
func (m *Model) Logits(images, texts [][]float32) [][]float32 {
	s := Similarity(images, texts)
	for _, r := range s {
		for j := range r {
			r[j] *= m.logitScale
		}
	}
	return s
}

// Normalize scales every row of v to unit L2 norm, in place (rows of zeros
// stay zero).
func Normalize(v [][]float32) {
	for _, r := range v {
		var ss float64
		for _, x := range r {
			ss += float64(x) * float64(x)
		}
		if ss == 0 {
			continue
		}
		inv := 1 / math.Sqrt(ss)
		for i, x := range r {
			r[i] = float32(float64(x) * inv)
		}
	}
}

// Similarity returns the cosine-similarity matrix [len(a)][len(b)]; a and
// b need not be normalised and are not modified. Rows of different lengths
// are compared over their common prefix.
func Similarity(a, b [][]float32) [][]float32 {
	na, nb := norms(a), norms(b)
	out := make([][]float32, len(a))
	for i, x := range a {
		out[i] = make([]float32, len(b))
		for j, y := range b {
			var dot float64
			for k := range min(len(x), len(y)) {
				dot += float64(x[k]) * float64(y[k])
			}
			if d := na[i] * nb[j]; d != 0 {
				out[i][j] = float32(dot / d)
			}
		}
	}
	return out
}

func norms(v [][]float32) []float64 {
	n := make([]float64, len(v))
	for i, r := range v {
		var ss float64
		for _, x := range r {
			ss += float64(x) * float64(x)
		}
		n[i] = math.Sqrt(ss)
	}
	return n
}
