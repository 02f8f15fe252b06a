package encoder

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goclip/goclip/tensor"
)

// mapStore is a tensor.Store of random weights, made on first request.
type mapStore struct {
	rng *rand.Rand
	m   map[string][]float32
}

func (s *mapStore) Tensor(name string, shape ...int) ([]float32, error) {
	if v, ok := s.m[name]; ok {
		return v, nil
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(s.rng.NormFloat64() * 0.2)
		if len(name) > 12 && name[len(name)-12:] == "norm1.weight" || len(name) > 12 && name[len(name)-12:] == "norm2.weight" {
			v[i] += 1
		}
	}
	s.m[name] = v
	return v, nil
}

// TestEncoderLayerReference checks one CLIPEncoderLayer, causal and not,
// on two packed sequences of odd lengths against a direct float64
// transcription of transformers' forward pass. The bound 2e-5 is about 20
// float32 roundings of values near 1 through the layer's ~3 dependent
// reductions, far below a wrong mask, scale or residual (errors of order 0.1).
func TestEncoderLayerReference(t *testing.T) {
	for _, causal := range []bool{false, true} {
		cfg := Config{Width: 24, Heads: 3, Intermediate: 40, Layers: 1, Act: tensor.ActQuickGELU, Eps: 1e-5, Causal: causal, Workers: tensor.NewWorkers(2)}
		st := &mapStore{rng: rand.New(rand.NewPCG(1, 2)), m: map[string][]float32{}}
		e, err := Load(st, "enc.", cfg)
		if err != nil {
			t.Fatal(err)
		}
		lens := []int{5, 3}
		x := make([]float32, 8*cfg.Width)
		for i := range x {
			x[i] = float32(st.rng.NormFloat64())
		}
		want := make([]float64, len(x))
		off := 0
		for _, n := range lens {
			ref := refLayer(st.m, "enc.layers.0.", x[off*cfg.Width:(off+n)*cfg.Width], n, &cfg)
			copy(want[off*cfg.Width:], ref)
			off += n
		}
		if err := e.Forward(context.Background(), x, lens, nil); err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			if d := math.Abs(float64(x[i]) - w); d > 2e-5 {
				t.Fatalf("causal %v: value %d: got %g, want %g", causal, i, x[i], w)
			}
		}
	}
}

// refLayer is CLIPEncoderLayer in float64 on one sequence x [n, width].
func refLayer(w map[string][]float32, p string, x []float32, n int, c *Config) []float64 {
	d, hd := c.Width, c.Width/c.Heads
	h := make([]float64, n*d)
	for i, v := range x {
		h[i] = float64(v)
	}
	ln := refNorm(h, w[p+"layer_norm1.weight"], w[p+"layer_norm1.bias"], n, d, c.Eps)
	q := refLinear(ln, w[p+"self_attn.q_proj.weight"], w[p+"self_attn.q_proj.bias"], n, d, d)
	k := refLinear(ln, w[p+"self_attn.k_proj.weight"], w[p+"self_attn.k_proj.bias"], n, d, d)
	v := refLinear(ln, w[p+"self_attn.v_proj.weight"], w[p+"self_attn.v_proj.bias"], n, d, d)
	ctx := make([]float64, n*d)
	for head := 0; head < c.Heads; head++ {
		for i := 0; i < n; i++ {
			s := make([]float64, n)
			top := math.Inf(-1)
			for j := 0; j < n; j++ {
				if c.Causal && j > i {
					s[j] = math.Inf(-1)
					continue
				}
				for e := 0; e < hd; e++ {
					s[j] += q[i*d+head*hd+e] * k[j*d+head*hd+e]
				}
				s[j] /= math.Sqrt(float64(hd))
				top = math.Max(top, s[j])
			}
			var sum float64
			for j := range s {
				s[j] = math.Exp(s[j] - top)
				sum += s[j]
			}
			for j := 0; j < n; j++ {
				for e := 0; e < hd; e++ {
					ctx[i*d+head*hd+e] += s[j] / sum * v[j*d+head*hd+e]
				}
			}
		}
	}
	o := refLinear(ctx, w[p+"self_attn.out_proj.weight"], w[p+"self_attn.out_proj.bias"], n, d, d)
	for i := range h {
		h[i] += o[i]
	}
	ln = refNorm(h, w[p+"layer_norm2.weight"], w[p+"layer_norm2.bias"], n, d, c.Eps)
	mid := refLinear(ln, w[p+"mlp.fc1.weight"], w[p+"mlp.fc1.bias"], n, c.Intermediate, d)
	for i, z := range mid {
		mid[i] = z / (1 + math.Exp(-1.702*z))
	}
	o = refLinear(mid, w[p+"mlp.fc2.weight"], w[p+"mlp.fc2.bias"], n, d, c.Intermediate)
	for i := range h {
		h[i] += o[i]
	}
	return h
}

func refNorm(x []float64, g, b []float32, n, d int, eps float32) []float64 {
	out := make([]float64, len(x))
	for i := 0; i < n; i++ {
		r := x[i*d : (i+1)*d]
		var mean, vr float64
		for _, v := range r {
			mean += v / float64(d)
		}
		for _, v := range r {
			vr += (v - mean) * (v - mean) / float64(d)
		}
		for j, v := range r {
			out[i*d+j] = (v-mean)/math.Sqrt(vr+float64(eps))*float64(g[j]) + float64(b[j])
		}
	}
	return out
}

func refLinear(x []float64, w, b []float32, n, out, in int) []float64 {
	y := make([]float64, n*out)
	for i := 0; i < n; i++ {
		for o := 0; o < out; o++ {
			s := float64(b[o])
			for k := 0; k < in; k++ {
				s += x[i*in+k] * float64(w[o*in+k])
			}
			y[i*out+o] = s
		}
	}
	return y
}

// TestConfigValidate checks that absurd shapes are refused before
// anything is sized by them.
func TestConfigValidate(t *testing.T) {
	good := Config{Width: 8, Heads: 2, Intermediate: 16, Layers: 1, Eps: 1e-5}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for i, c := range []Config{
		{Width: 0, Heads: 1, Intermediate: 1, Eps: 1},
		{Width: 9, Heads: 2, Intermediate: 16, Eps: 1},
		{Width: 8, Heads: 2, Intermediate: MaxDim + 1, Eps: 1},
		{Width: 8, Heads: 2, Intermediate: 16, Layers: MaxLayers + 1, Eps: 1},
		{Width: 8, Heads: 2, Intermediate: 16, Eps: 0},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("config %d accepted: %+v", i, fmt.Sprint(c))
		}
	}
}
