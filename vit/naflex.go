package vit

import (
	"context"
	"fmt"
	"math"

	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/tensor"
)

// SigLIP 2 NaFlex (transformers' Siglip2VisionTransformer). An image
// arrives as its own grid of h×w patches (Siglip2ImageProcessor resizes it
// to fit max_num_patches keeping the aspect ratio); transformers pads every
// image to max_num_patches and masks the padding out of the attention (the
// padded keys get exactly zero weight, in the encoder and in the pooling
// head) and nothing else mixes tokens, so the valid tokens of an image do
// not depend on its padding. Here each image is a packed sequence of only
// its own h·w tokens: the same numbers without computing the padding.

// Shape is one image's patch grid: Height rows and Width columns of
// patches (transformers' spatial_shapes).
type Shape struct{ Height, Width int }

// Patches is the number of patches of the grid.
func (s Shape) Patches() int { return s.Height * s.Width }

// naflexEmbeddings is Siglip2VisionEmbeddings: a Linear over flattened
// patches and learned position embeddings on a square grid, resized to
// each image's patch grid.
type naflexEmbeddings struct {
	patch *tensor.Linear // patch_embedding: weight [width, channels·P·P] ((y, x, channel) order), bias [width]
	pos   []float32      // position_embedding.weight [grid², width]
	grid  int
	width int
}

func loadNaFlexEmbeddings(st tensor.Store, prefix string, c *Config, wk *tensor.Workers) (*naflexEmbeddings, error) {
	w, k := c.HiddenSize, c.PatchDim()
	pw, err := encoder.Tensor(st, prefix+"patch_embedding.weight", w, k)
	if err != nil {
		return nil, err
	}
	pb, err := encoder.Tensor(st, prefix+"patch_embedding.bias", w)
	if err != nil {
		return nil, err
	}
	patch, err := tensor.NewLinear(wk, pw, pb, w, k)
	if err != nil {
		return nil, fmt.Errorf("%spatch_embedding: %w", prefix, err)
	}
	pos, err := encoder.Tensor(st, prefix+"position_embedding.weight", c.NumPatches, w)
	if err != nil {
		return nil, err
	}
	return &naflexEmbeddings{patch: patch, pos: pos, grid: c.Grid(), width: w}, nil
}

// axisWeights returns the resize weights along one axis from grid
// positions to size outputs, [size][grid], computed in float32 operation
// by operation as transformers' resize_positional_embeddings does (the
// weights of F.interpolate(mode="bilinear", align_corners=False,
// antialias=True)): scale = grid/size (computed by torch as
// grid·(1/size), Tensor.__rtruediv__), support = max(scale, 1), center =
// (i + 0.5)·scale − 0.5, weight_j = max(0, 1 − |j − center|/support),
// normalised to sum 1.
func axisWeights(grid, size int) []float32 {
	out := make([]float32, size*grid)
	scale := float32(float32(1)/float32(size)) * float32(grid)
	support := max(scale, 1)
	for i := 0; i < size; i++ {
		center := float32(float32(float32(i)+0.5)*scale) - 0.5
		row := out[i*grid : (i+1)*grid]
		for j := range row {
			d := float32(float32(j) - center)
			if d < 0 {
				d = -d
			}
			v := float32(1) - float32(d/support)
			row[j] = max(v, 0)
		}
		sum := torchRowSum(row)
		for j := range row {
			row[j] /= sum
		}
	}
	return out
}

// torchRowSum is torch.sum over a contiguous float32 row as ATen's
// cascade_sum computes it on an AVX2 CPU (the machine the goldens were
// made on): rows of 8 or more values are summed as 8-wide vectors, then
// the leftover values from 0, then the 8 lanes one by one; shorter rows
// as scalars. Both go through row_sum: 4 interleaved accumulators
// (cascaded by multi_row_sum beyond 16 groups each), the leftover groups
// added to the first, then the others added to it in order.
func torchRowSum(x []float32) float32 {
	const lanes = 8
	if len(x) < lanes {
		return ilpRowSum(x, 1, len(x))[0]
	}
	groups := len(x) / lanes
	acc := ilpRowSum(x, lanes, groups)
	var final float32
	for _, v := range x[groups*lanes:] {
		final += v
	}
	for _, v := range acc {
		final += v
	}
	return final
}

// ilpRowSum is ATen's row_sum over size groups of lanes consecutive
// values (lanes = 1: scalars; 8: AVX2 vectors), returning the lanes.
func ilpRowSum(x []float32, lanes, size int) []float32 {
	const ilp, levels = 4, 4
	group := func(i int) []float32 { return x[i*lanes : (i+1)*lanes] }
	var acc [levels][ilp][]float32
	for l := range acc {
		for k := range acc[l] {
			acc[l][k] = make([]float32, lanes)
		}
	}
	add := func(dst, src []float32) {
		for j := range dst {
			dst[j] += src[j]
		}
	}
	rows := size / ilp
	power := max(4, bitsLen(rows)/levels) // CeilLog2(rows) / num_levels
	step := 1 << power
	mask := step - 1
	i := 0
	for i+step <= rows {
		for j := 0; j < step; j, i = j+1, i+1 {
			for k := 0; k < ilp; k++ {
				add(acc[0][k], group(i*ilp+k))
			}
		}
		for j := 1; j < levels; j++ {
			for k := 0; k < ilp; k++ {
				add(acc[j][k], acc[j-1][k])
				clear(acc[j-1][k])
			}
			if i&(mask<<(j*power)) != 0 {
				break
			}
		}
	}
	for ; i < rows; i++ {
		for k := 0; k < ilp; k++ {
			add(acc[0][k], group(i*ilp+k))
		}
	}
	for j := 1; j < levels; j++ {
		for k := 0; k < ilp; k++ {
			add(acc[0][k], acc[j][k])
		}
	}
	p := acc[0]
	for i := rows * ilp; i < size; i++ {
		add(p[0], group(i))
	}
	for k := 1; k < ilp; k++ {
		add(p[0], p[k])
	}
	return p[0]
}

// bitsLen is c10's CeilLog2(n) for n ≥ 0 (0 for n ≤ 1).
func bitsLen(n int) int {
	r := 0
	for (1 << r) < n {
		r++
	}
	return r
}

// resizeWeights returns transformers' float32 weights of the resized
// position embeddings of a grid → s resize, [s.Patches()][grid²]: the
// product of the row's and the column's axis weights.
func resizeWeights(grid int, s Shape) []float32 {
	wr, wc := axisWeights(grid, s.Height), axisWeights(grid, s.Width)
	g2 := grid * grid
	out := make([]float32, s.Patches()*g2)
	for r := 0; r < s.Height; r++ {
		for c := 0; c < s.Width; c++ {
			o := out[(r*s.Width+c)*g2:]
			for a := 0; a < grid; a++ {
				for b := 0; b < grid; b++ {
					o[a*grid+b] = float32(wr[r*grid+a] * wc[c*grid+b])
				}
			}
		}
	}
	return out
}

// resizePositions writes the position embeddings of an image of shape s
// to dst [s.Patches(), width]: each the grid weighted by resizeWeights,
// summed in float64 (transformers sums in float32; the weights are the
// same bits).
func (e *naflexEmbeddings) resizePositions(dst []float32, s Shape) {
	g2, w := e.grid*e.grid, e.width
	wts := resizeWeights(e.grid, s)
	acc := make([]float64, w)
	for t := 0; t < s.Patches(); t++ {
		clear(acc)
		for j, v := range wts[t*g2 : (t+1)*g2] {
			if v == 0 {
				continue
			}
			p := e.pos[j*w : (j+1)*w]
			for k, x := range p {
				acc[k] += float64(v) * float64(x)
			}
		}
		d := dst[t*w : (t+1)*w]
		for k, v := range acc {
			d[k] = float32(v)
		}
	}
}

// ForwardPatches embeds images given as patches (NaFlex towers only):
// patches holds, image after image, the shapes[i].Patches() patches of
// image i in row-major grid order, each PatchDim() values in (y, x,
// channel) order — Siglip2ImageProcessor's pixel_values without the
// padding. It returns the pooled output [len(shapes), width] (the
// attention pooling head's, the image embedding). opts.Hidden receives
// image i's hidden states [shapes[i].Patches(), width].
func (m *Model) ForwardPatches(ctx context.Context, patches []float32, shapes []Shape, opts *ForwardOptions) ([]float32, error) {
	c := &m.cfg
	if !c.NaFlex {
		return nil, fmt.Errorf("vit: ForwardPatches needs a NaFlex (SigLIP 2) tower; use Forward")
	}
	k, w, n := c.PatchDim(), c.HiddenSize, len(shapes)
	rows := 0
	lens := make([]int, n)
	for i, s := range shapes {
		if s.Height < 1 || s.Width < 1 || s.Height > MaxNaFlexPatches || s.Width > MaxNaFlexPatches || s.Patches() > MaxNaFlexPatches {
			return nil, fmt.Errorf("vit: image %d: patch grid %d×%d must have 1 to %d patches", i, s.Height, s.Width, MaxNaFlexPatches)
		}
		lens[i] = s.Patches()
		rows += lens[i]
	}
	if len(patches) != rows*k {
		return nil, fmt.Errorf("vit: %d patch values for %d patches of %d values", len(patches), rows, k)
	}
	if n == 0 {
		return nil, nil
	}
	if err := checkPatchPixels(patches, lens, k); err != nil {
		return nil, err
	}
	x := make([]float32, rows*w)
	m.nf.patch.Forward(m.wk, x, patches, rows, tensor.ActNone)
	m.addPositions(x, shapes, lens)
	var hidden func(int, []float32)
	if opts != nil && opts.Hidden != nil {
		hidden = func(index int, h []float32) {
			off := 0
			for i, l := range lens {
				opts.Hidden(index, i, h[off*w:(off+l)*w])
				off += l
			}
		}
	}
	if err := m.enc.Forward(ctx, x, lens, hidden); err != nil {
		return nil, err
	}
	tensor.LayerNorm(m.wk, x, x, m.postWeight, m.postBias, rows, w, float32(c.LayerNormEps))
	pooled := make([]float32, n*w)
	m.head.forward(pooled, x, lens, nil, nil, nil)
	return pooled, nil
}

// addPositions adds each image's resized position embeddings to x, the
// images in parallel; images of one shape share one resize.
func (m *Model) addPositions(x []float32, shapes []Shape, lens []int) {
	w := m.cfg.HiddenSize
	first := map[Shape]int{}
	offs := make([]int, len(shapes))
	var uniq []int
	off := 0
	for i, s := range shapes {
		offs[i] = off
		off += lens[i]
		if _, ok := first[s]; !ok {
			first[s] = len(uniq)
			uniq = append(uniq, i)
		}
	}
	pos := make([][]float32, len(uniq))
	m.wk.Parallel(len(uniq), func(u int) {
		s := shapes[uniq[u]]
		pos[u] = make([]float32, s.Patches()*w)
		m.nf.resizePositions(pos[u], s)
	})
	for i, s := range shapes {
		img := x[offs[i]*w : (offs[i]+lens[i])*w]
		for j, v := range pos[first[s]] {
			img[j] += v
		}
	}
}

// checkPatchPixels reports the first NaN or Inf of the packed patches.
func checkPatchPixels(px []float32, lens []int, k int) error {
	off := 0
	for i, l := range lens {
		for j, v := range px[off*k : (off+l)*k] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return &PixelError{Image: i, Index: j, Value: v}
			}
		}
		off += l
	}
	return nil
}
