package openclip

import (
	"fmt"
	"strings"

	"github.com/goclip/goclip/tensor"
)

// Store serves an OpenCLIP checkpoint's tensors under transformers'
// CLIPModel names, so that vit, textenc and clip load it unchanged:
//
//	vision_model.embeddings.patch_embedding.weight   visual.conv1.weight
//	vision_model.embeddings.class_embedding          visual.class_embedding
//	vision_model.embeddings.position_embedding.weight visual.positional_embedding
//	vision_model.pre_layrnorm.*                      visual.ln_pre.*
//	vision_model.encoder.layers.N.layer_norm1.*      visual.transformer.resblocks.N.ln_1.*
//	  self_attn.{q,k,v}_proj.{weight,bias}           attn.in_proj_{weight,bias} rows [0,w), [w,2w), [2w,3w)
//	  self_attn.out_proj.*                           attn.out_proj.*
//	  layer_norm2.* / mlp.fc1.* / mlp.fc2.*          ln_2.* / mlp.c_fc.* / mlp.c_proj.*
//	vision_model.post_layernorm.*                    visual.ln_post.*
//	visual_projection.weight [embed, width]          visual.proj [width, embed], transposed
//	text_model.embeddings.token_embedding.weight     token_embedding.weight
//	text_model.embeddings.position_embedding.weight  positional_embedding
//	text_model.encoder.layers.N.*                    transformer.resblocks.N.* (as above)
//	text_model.final_layer_norm.*                    ln_final.*
//	text_projection.weight [embed, width]            text_projection [width, embed], transposed
//	logit_scale, logit_bias                          the same
//
// (text names under TextPrefix). The q, k and v weights are sub-slices of
// the stored in_proj tensor, not copies; the two projections, which
// OpenCLIP stores as [width, embed] for x @ proj, are transposed into a
// new slice (embed×width values, read once at load).
type Store struct {
	Base       tensor.Store
	TextPrefix string // "" or "text." (CustomTextCLIP)
}

// DropPages passes the hint on to the base store.
func (s *Store) DropPages() {
	if d, ok := s.Base.(interface{ DropPages() }); ok {
		d.DropPages()
	}
}

// Tensor implements tensor.Store.
func (s *Store) Tensor(name string, shape ...int) ([]float32, error) {
	switch name {
	case "visual_projection.weight", "text_projection.weight":
		if len(shape) != 2 {
			return nil, fmt.Errorf("openclip: %s: want a 2-d shape, got %v", name, shape)
		}
		src := "visual.proj"
		if name == "text_projection.weight" {
			src = s.TextPrefix + "text_projection"
		}
		v, err := s.Base.Tensor(src, shape[1], shape[0])
		if err != nil {
			return nil, err
		}
		return transpose(v, shape[1], shape[0]), nil
	case "logit_scale", "logit_bias":
		return s.Base.Tensor(name, shape...)
	}
	src, part, err := s.mapName(name)
	if err != nil {
		return nil, err
	}
	if part < 0 {
		return s.Base.Tensor(src, shape...)
	}
	// One third of in_proj_weight [3w, w] or in_proj_bias [3w].
	full := append([]int{3 * shape[0]}, shape[1:]...)
	v, err := s.Base.Tensor(src, full...)
	if err != nil {
		return nil, err
	}
	n := len(v) / 3
	return v[part*n : (part+1)*n : (part+1)*n], nil
}

// mapName returns the OpenCLIP name for an HF name and, for q/k/v, which
// third of in_proj (-1 otherwise).
func (s *Store) mapName(name string) (string, int, error) {
	var tower, rest string
	switch {
	case strings.HasPrefix(name, "vision_model."):
		tower, rest = "visual.", strings.TrimPrefix(name, "vision_model.")
	case strings.HasPrefix(name, "text_model."):
		tower, rest = s.TextPrefix, strings.TrimPrefix(name, "text_model.")
	default:
		return "", -1, fmt.Errorf("openclip: no OpenCLIP tensor for %q", name)
	}
	fixed := map[string]string{
		"embeddings.patch_embedding.weight":    "conv1.weight",
		"embeddings.class_embedding":           "class_embedding",
		"embeddings.position_embedding.weight": "positional_embedding",
		"embeddings.token_embedding.weight":    "token_embedding.weight",
	}
	if v, ok := fixed[rest]; ok {
		return tower + v, -1, nil
	}
	for hf, oc := range map[string]string{"pre_layrnorm.": "ln_pre.", "post_layernorm.": "ln_post.", "final_layer_norm.": "ln_final."} {
		if p, ok := strings.CutPrefix(rest, hf); ok {
			return tower + oc + p, -1, nil
		}
	}
	layer, ok := strings.CutPrefix(rest, "encoder.layers.")
	if !ok {
		return "", -1, fmt.Errorf("openclip: no OpenCLIP tensor for %q", name)
	}
	num, sub, ok := strings.Cut(layer, ".")
	if !ok {
		return "", -1, fmt.Errorf("openclip: no OpenCLIP tensor for %q", name)
	}
	block := tower + "transformer.resblocks." + num + "."
	for i, p := range []string{"self_attn.q_proj.", "self_attn.k_proj.", "self_attn.v_proj."} {
		if kind, ok := strings.CutPrefix(sub, p); ok {
			return block + "attn.in_proj_" + kind, i, nil
		}
	}
	for hf, oc := range map[string]string{"self_attn.out_proj.": "attn.out_proj.", "layer_norm1.": "ln_1.",
		"layer_norm2.": "ln_2.", "mlp.fc1.": "mlp.c_fc.", "mlp.fc2.": "mlp.c_proj."} {
		if p, ok := strings.CutPrefix(sub, hf); ok {
			return block + oc + p, -1, nil
		}
	}
	return "", -1, fmt.Errorf("openclip: no OpenCLIP tensor for %q", name)
}

// transpose returns the [c, r] transpose of v [r, c].
func transpose(v []float32, r, c int) []float32 {
	out := make([]float32, len(v))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j*r+i] = v[i*c+j]
		}
	}
	return out
}
