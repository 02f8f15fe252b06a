package tensor

import "math"

// Attention computes multi-head scaled dot-product attention for one
// sequence of tokens: for every head h,
//
//	dst_h = softmax(q_h·k_hᵀ/√headDim + mask)·v_h
//
// q, k and v hold rows of stride values each (so they may be column slices
// of one fused QKV buffer [tokens, 3·heads·headDim]); head h occupies
// columns h·headDim … (h+1)·headDim-1 of each row. dst is [tokens,
// heads·headDim], dense. With causal, token i attends to tokens 0…i only
// (CLIP's text tower).
func Attention(dst, q, k, v []float32, tokens, heads, headDim, stride int, causal bool) {
	width := heads * headDim
	scale := float32(1 / math.Sqrt(float64(headDim)))
	scores := make([]float32, tokens)
	for h := 0; h < heads; h++ {
		off := h * headDim
		for i := 0; i < tokens; i++ {
			qi := q[i*stride+off : i*stride+off+headDim]
			n := tokens
			if causal {
				n = i + 1
			}
			s := scores[:n]
			for j := range s {
				kj := k[j*stride+off : j*stride+off+headDim]
				var dot float32
				for d, x := range qi {
					dot += x * kj[d]
				}
				s[j] = dot * scale
			}
			Softmax(s)
			out := dst[i*width+off : i*width+off+headDim]
			clear(out)
			for j, p := range s {
				vj := v[j*stride+off : j*stride+off+headDim]
				for d, x := range vj {
					out[d] += p * x
				}
			}
		}
	}
}
