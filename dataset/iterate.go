package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
)

// Samples streams every sample in dataset order (shard by shard, members
// in tar order; folders in sorted order). Memory holds one sample. Hub
// shards are downloaded (or found in the cache) as they are reached. The
// sequence stops after yielding a non-nil error.
func (d *Dataset) Samples(ctx context.Context) iter.Seq2[Sample, error] {
	return d.SamplesFrom(ctx, 0)
}

// SamplesFrom streams the samples of Samples from sample start on (the
// first start samples are left out; a start at or past the end yields
// nothing), without reading the image bytes of the samples it leaves out:
// a shard that ends before start is skipped whole, not even opened, when
// its sample count is known (from Counts, or an earlier complete pass
// over it); otherwise its tar headers are read and its members' content
// seeked over, which counts it. In the shard holding sample start, the
// members before it are seeked over the same way. Skipped Hub shards whose
// count is not yet known are downloaded (or found in the cache) to be
// counted.
func (d *Dataset) SamplesFrom(ctx context.Context, start int) iter.Seq2[Sample, error] {
	return func(yield func(Sample, error) bool) {
		if start < 0 {
			yield(Sample{}, fmt.Errorf("dataset: start sample %d is negative", start))
			return
		}
		stop := errors.New("stop")
		base := 0 // index of the shard's first sample
		for i := range d.shards {
			if n, ok := d.knownCount(i); ok && start >= base+n {
				base += n // skipped whole, not opened
				continue
			}
			lo := max(start-base, 0)
			n, err := d.walkCount(ctx, i, func(j int) bool { return j >= lo }, func(_ int, s Sample) error {
				if !yield(s, nil) {
					return stop
				}
				return nil
			})
			if err == stop {
				return
			}
			if err != nil {
				yield(Sample{}, err)
				return
			}
			base += n
		}
		for _, f := range d.files[min(start, len(d.files)):] {
			if err := ctx.Err(); err != nil {
				yield(Sample{}, err)
				return
			}
			s, err := d.readFile(f)
			if !yield(s, err) || err != nil {
				return
			}
		}
	}
}

// knownCount returns the sample count of shard i if a complete pass has
// established it.
func (d *Dataset) knownCount(i int) (int, bool) {
	d.countMu.Lock()
	defer d.countMu.Unlock()
	n, ok := d.counts[i]
	return n, ok
}

func (d *Dataset) walk(ctx context.Context, i int, want func(int) bool, fn func(int, Sample) error) error {
	_, err := d.walkCount(ctx, i, want, fn)
	return err
}

// walkCount walks shard i (see walkShard) and, when it reaches the end,
// records the shard's sample count for SamplesFrom.
func (d *Dataset) walkCount(ctx context.Context, i int, want func(int) bool, fn func(int, Sample) error) (int, error) {
	sh := d.shards[i]
	p, err := sh.open(ctx)
	if err != nil {
		return 0, fmt.Errorf("dataset: shard %s: %w", sh.name, err)
	}
	open := d.openFile
	if open == nil {
		open = func(p string) (io.ReadSeekCloser, error) { return os.Open(p) }
	}
	f, err := open(p)
	if err != nil {
		return 0, fmt.Errorf("dataset: shard %s: %w", sh.name, err)
	}
	defer f.Close()
	n, err := walkShard(ctx, f, sh.name, d.maxBytes, want, fn)
	if err == nil {
		d.countMu.Lock()
		if d.counts == nil {
			d.counts = map[int]int{}
		}
		d.counts[i] = n
		d.countMu.Unlock()
	}
	return n, err
}

func (d *Dataset) readFile(f imageFile) (Sample, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return Sample{}, fmt.Errorf("dataset: %w", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, d.maxBytes+1))
	if err != nil {
		return Sample{}, fmt.Errorf("dataset: %s: %w", f.path, err)
	}
	if int64(len(b)) > d.maxBytes {
		return Sample{}, fmt.Errorf("dataset: %s is over the %d-byte image limit", f.path, d.maxBytes)
	}
	return Sample{Key: f.key, Format: f.format, Image: b, Label: f.label, Source: f.path}, nil
}

// Counts returns the number of samples of each shard (WebDataset) or the
// single folder count, reading tar headers only (members' content is
// seeked over).
func (d *Dataset) Counts(ctx context.Context) ([]int, error) {
	if d.Kind != WebDataset {
		return []int{len(d.files)}, nil
	}
	none := func(int) bool { return false }
	out := make([]int, len(d.shards))
	for i := range d.shards {
		n, err := d.walkCount(ctx, i, none, nil)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// RandomSample returns n samples drawn without replacement, deterministic
// for a given seed and dataset. Algorithm: number the samples 0…total-1 in
// dataset order (Samples' order); perm := rand.New(rand.NewPCG(seed,
// seed)).Perm(total) with math/rand/v2; the result is the samples
// perm[0], …, perm[n-1], in that order. n ≥ total returns every sample in
// permuted order. A WebDataset is read twice: headers only to count, then
// the content of the chosen samples only (shards with none are skipped).
// Memory holds the n chosen samples.
func (d *Dataset) RandomSample(ctx context.Context, n int, seed uint64) ([]Sample, error) {
	if n < 0 {
		return nil, fmt.Errorf("dataset: sample size %d is negative", n)
	}
	counts, err := d.Counts(ctx)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	perm := rngFor(seed).Perm(total)
	perm = perm[:min(n, total)]
	slot := make(map[int]int, len(perm)) // global index → output position
	for pos, idx := range perm {
		slot[idx] = pos
	}
	out := make([]Sample, len(perm))
	if d.Kind != WebDataset {
		for idx, pos := range slot {
			if out[pos], err = d.readFile(d.files[idx]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	base := 0
	for i := range d.shards {
		lo, hi := base, base+counts[i]
		base = hi
		if !slices.ContainsFunc(perm, func(g int) bool { return g >= lo && g < hi }) {
			continue
		}
		want := func(j int) bool { _, ok := slot[lo+j]; return ok }
		err := d.walk(ctx, i, want, func(j int, s Sample) error {
			out[slot[lo+j]] = s
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ShardPath returns the local path of shard i (downloading a Hub shard
// into the cache first), for callers that read shards in parallel with
// ReadShard.
func (d *Dataset) ShardPath(ctx context.Context, i int) (string, error) {
	if i < 0 || i >= len(d.shards) {
		return "", fmt.Errorf("dataset: shard %d out of range [0,%d)", i, len(d.shards))
	}
	p, err := d.shards[i].open(ctx)
	if err != nil {
		return "", fmt.Errorf("dataset: shard %s: %w", d.shards[i].name, err)
	}
	return p, nil
}
