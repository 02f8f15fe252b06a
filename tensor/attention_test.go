package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refAttention is Attention in float64. It also returns, per output
// element, a first-order bound on the float32 error of any correct
// implementation: score errors δ ≤ γ_{d+2}·Σ|q·k|/√d (Higham's γ_n =
// n·2⁻²⁴), which perturb each probability by at most 2δ_max relatively,
// plus the rounding of the exponentials (≤ 2 ulp, TestActivations), of
// the normalisation and of the t-term product with v (γ_{t+4}).
func refAttention(q, k, v []float32, t, heads, d, stride int, causal bool) (out, tol []float64) {
	width := heads * d
	out, tol = make([]float64, t*width), make([]float64, t*width)
	scale := 1 / math.Sqrt(float64(d))
	for h := 0; h < heads; h++ {
		off := h * d
		for i := 0; i < t; i++ {
			n := t
			if causal {
				n = i + 1
			}
			s, p := make([]float64, n), make([]float64, n)
			var dmax float64
			for j := range s {
				var dot, mag float64
				for e := 0; e < d; e++ {
					x := float64(q[i*stride+off+e]) * float64(k[j*stride+off+e])
					dot += x
					mag += math.Abs(x)
				}
				s[j] = dot * scale
				dmax = max(dmax, float64(d+2)*0x1p-24*mag*scale)
			}
			m := s[0]
			for _, x := range s {
				m = max(m, x)
			}
			var sum float64
			for j, x := range s {
				p[j] = math.Exp(x - m)
				sum += p[j]
			}
			for e := 0; e < d; e++ {
				var o, mag float64
				for j := range p {
					o += p[j] / sum * float64(v[j*stride+off+e])
					mag += p[j] / sum * math.Abs(float64(v[j*stride+off+e]))
				}
				out[i*width+off+e] = o
				tol[i*width+off+e] = (2*dmax+4*0x1p-24+float64(t+4)*0x1p-24)*mag + 1e-30
			}
		}
	}
	return out, tol
}

func TestAttention(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, c := range []struct{ tokens, heads, d int }{
			{1, 1, 1}, {7, 3, 8}, {17, 2, 33}, {50, 12, 64}, {77, 8, 64}, {33, 4, 16},
		} {
			for _, causal := range []bool{false, true} {
				width := c.heads * c.d
				stride := 3*width + 5 // column slices of a fused QKV buffer, odd stride
				qkv := randSlice(r, c.tokens*stride)
				for i := range qkv {
					qkv[i] *= 3 // sharper softmax than uniform
				}
				q, k, v := qkv, qkv[width:], qkv[2*width:]
				dst, check := guarded(t, c.tokens*width)
				attention(tw, dst, q, k, v, c.tokens, c.heads, c.d, stride, causal)
				check()
				want, tol := refAttention(q, k, v, c.tokens, c.heads, c.d, stride, causal)
				for i := range want {
					if d := math.Abs(float64(dst[i]) - want[i]); d > tol[i] {
						t.Fatalf("%+v causal=%v: element %d = %g, want %g (tol %g)", c, causal, i, dst[i], want[i], tol[i])
					}
				}
			}
		}
	})
}

// TestAttentionBatch checks that AttentionBatch over packed sequences
// gives exactly (bit for bit: the same kernels on the same rows) what
// attention gives per sequence, for every row and for one query row per
// sequence.
func TestAttentionBatch(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 18))
		const heads, d = 4, 16
		width := heads * d
		for _, lens := range [][]int{{1}, {9, 3, 17}, {50, 50, 50}, {8, 10, 12, 9, 77}} {
			for _, causal := range []bool{false, true} {
				rows := 0
				for _, n := range lens {
					rows += n
				}
				qkv := randSlice(r, rows*3*width)
				for i := range qkv {
					qkv[i] *= 3
				}
				want := make([]float32, rows*width)
				off := 0
				for _, n := range lens {
					q := qkv[off*3*width:]
					attention(tw, want[off*width:(off+n)*width], q, q[width:], q[2*width:], n, heads, d, 3*width, causal)
					off += n
				}
				got, check := guarded(t, rows*width)
				attentionBatch(tw, got, qkv, lens, heads, d, causal, nil)
				check()
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("lens %v causal=%v: element %d = %g, want %g", lens, causal, i, got[i], want[i])
					}
				}
				query := make([]int, len(lens))
				for s, n := range lens {
					query[s] = r.IntN(n)
				}
				one, check := guarded(t, len(lens)*width)
				attentionBatch(tw, one, qkv, lens, heads, d, causal, query)
				check()
				off = 0
				for s, n := range lens {
					row := want[(off+query[s])*width : (off+query[s]+1)*width]
					for j := range row {
						if one[s*width+j] != row[j] {
							t.Fatalf("lens %v causal=%v query %v: seq %d col %d = %g, want %g", lens, causal, query, s, j, one[s*width+j], row[j])
						}
					}
					off += n
				}
			}
		}
	})
}

// TestAttentionSeqsShared checks sequences that share rows (a common
// prefix computed once): each sequence's outputs equal, bit for bit, those
// of Attention on the sequence materialised on its own.
func TestAttentionSeqsShared(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(19, 20))
		const heads, d = 3, 16
		width := heads * d
		// Rows 0…4: a shared prefix; 5…7 sequence 0's own tokens, 8…9
		// sequence 1's, 10…12 sequence 2's (which shares 3 prefix rows).
		const rows = 13
		qkv := randSlice(r, rows*3*width)
		paths := [][]int{{0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4, 8, 9}, {0, 1, 2, 10, 11, 12}}
		owned := []int{0, 5, 3} // first token each sequence computes
		for _, causal := range []bool{true, false} {
			var seqs []AttnSeq
			for s, p := range paths {
				q0 := owned[s]
				seqs = append(seqs, AttnSeq{N: len(p), Rows: p, Q0: q0, Q1: len(p), Out: p[q0]})
			}
			got, check := guarded(t, rows*width)
			AttentionSeqs(tw, got, qkv, seqs, heads, d, causal)
			check()
			for s, p := range paths {
				own := make([]float32, len(p)*3*width)
				for i, row := range p {
					copy(own[i*3*width:(i+1)*3*width], qkv[row*3*width:])
				}
				want := make([]float32, len(p)*width)
				attention(tw, want, own, own[width:], own[2*width:], len(p), heads, d, 3*width, causal)
				for i := owned[s]; i < len(p); i++ {
					for j := 0; j < width; j++ {
						if g, w := got[p[i]*width+j], want[i*width+j]; g != w {
							t.Fatalf("causal=%v seq %d token %d col %d = %g, want %g", causal, s, i, j, g, w)
						}
					}
				}
			}
		}
	})
}

func TestAttentionAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race (sync.Pool drops items on purpose); checked in the normal run")
	}
	r := rand.New(rand.NewPCG(15, 16))
	qkv := randSlice(r, 50*3*768)
	dst := make([]float32, 50*768)
	f := func() { attention(tw, dst, qkv, qkv[768:], qkv[1536:], 50, 12, 64, 3*768, false) }
	f()
	if a := testing.AllocsPerRun(20, f); a != 0 {
		t.Errorf("Attention allocates %v times per call", a)
	}
}

func TestSoftmax(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 18))
		for _, n := range append(testSizes, 50, 77, 1000) {
			x, check := guarded(t, n)
			for i := range x {
				x[i] = float32(r.NormFloat64() * 5)
			}
			in := append([]float32(nil), x...)
			softmaxScaled(simd, x, 1)
			check()
			m := math.Inf(-1)
			for _, v := range in {
				m = max(m, float64(v))
			}
			var sum float64
			for _, v := range in {
				sum += math.Exp(float64(v) - m)
			}
			for i, v := range in {
				want := math.Exp(float64(v)-m) / sum
				// exp ≤ 1.3 ulp, the division and the float32 rounding of
				// the result: 4 ulp of the value; plus the float32 rounding
				// of the argument v-m (≤ |v-m|·2⁻²⁴ absolute), which scales
				// the result by the same relative amount.
				tol := (4 + math.Abs(float64(v)-m)) * 0x1p-24 * want
				if d := math.Abs(float64(x[i]) - want); d > tol+1e-38 {
					t.Fatalf("n=%d: softmax[%d] = %g, want %g", n, i, x[i], want)
				}
			}
		}
	})
}
