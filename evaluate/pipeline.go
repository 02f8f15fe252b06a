package evaluate

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"sync"
	"time"

	"github.com/goclip/goclip/dataset"
)

// ImageEmbedder embeds n preprocessed images given as pixel values
// [n,3,S,S]. *clip.Model satisfies it.
type ImageEmbedder interface {
	EmbedPixels(ctx context.Context, pixels []float32) ([][]float32, error)
}

// Scorer turns image embeddings into class scores [len(images)][classes]
// (higher is better). *clip.Classifier satisfies it.
type Scorer interface {
	Scores(images [][]float32) ([][]float32, error)
}

// Config describes one evaluation run. Samples, Preprocess, Model and at
// least one Scorer are required.
type Config struct {
	// Samples streams the dataset in its fixed order from sample start on
	// (dataset.Dataset's SamplesFrom): a run asks for start 0, a resumed
	// one for the first sample not yet counted, which it then need not
	// read.
	Samples func(start int) iter.Seq2[dataset.Sample, error]
	// Preprocess decodes one sample into pixel values [3,S,S]. It is called
	// from several goroutines at once.
	Preprocess func(dataset.Sample) ([]float32, error)
	// Model embeds batches of preprocessed images.
	Model ImageEmbedder
	// Scorers are the zero-shot classifiers to evaluate; they share the
	// image embeddings (one pass over the images for all of them).
	Scorers []Scorer
	// NumClasses bounds the labels: a label outside 0…NumClasses-1 is an
	// error naming the sample.
	NumClasses int

	// BatchSize is the number of images per model call (default 32).
	BatchSize int
	// Workers is the number of decoding goroutines (default GOMAXPROCS).
	Workers int
	// Prefetch is the number of batches decoded ahead of the model
	// (default 2). Memory holds at most Prefetch+2 batches of pixels.
	Prefetch int

	// Start holds the restored accumulators of an interrupted run, one per
	// scorer; their N samples (the first N of the stream) are skipped
	// (Samples(N) is asked for the rest).
	// Nil starts from scratch.
	Start []*Metrics
	// Limit stops after the first Limit samples of the stream (counting
	// the skipped ones); 0 means all.
	Limit int

	// Progress, if set, is called after every batch.
	Progress func(Progress)
	// Checkpoint, if set, is called every CheckpointEvery batches
	// (default 10) with the accumulators, which must not be kept or
	// modified. An error stops the run.
	Checkpoint      func(ms []*Metrics) error
	CheckpointEvery int

	// SkipBad counts a sample that Preprocess cannot decode as bad
	// (Metrics.Bad) and goes on, instead of stopping the run; BadSample, if
	// set, is called with its *SampleError, in stream order.
	SkipBad   bool
	BadSample func(error)
}

// Progress is the state of a run after a batch.
type Progress struct {
	Done    int           // samples accounted for, in stream order (including resumed ones)
	Skipped int           // samples restored from an earlier run
	Elapsed time.Duration // since Run started
	Metrics *Metrics      // the first scorer's running counts (read only)
}

// SampleError reports a sample that could not be evaluated.
type SampleError struct {
	Index  int    // position in the stream
	Key    string // sample key
	Source string // shard or file
	Err    error
}

func (e *SampleError) Error() string {
	return fmt.Sprintf("evaluate: sample %d (%s in %s): %v", e.Index, e.Key, e.Source, e.Err)
}

func (e *SampleError) Unwrap() error { return e.Err }

// batch is a run of consecutive samples, filled by the decoders in any
// order and consumed by the model in stream order.
type batch struct {
	first  int // stream index of the first sample
	n      int
	pixels []float32 // [n, per]
	labels []int
	errs   []error // per sample
	err    error   // stream error after the samples (ends the run)
	wg     sync.WaitGroup
}

type job struct {
	b *batch
	i int
	s dataset.Sample
}

// Run evaluates the scorers on the samples and returns one accumulator per
// scorer. Reading and decoding run in parallel with the model: one
// goroutine reads the stream, Workers goroutines decode into batches, and
// the calling goroutine embeds and scores the batches in stream order, so
// the result does not depend on scheduling.
//
// When ctx is cancelled, or a sample fails, Run stops and returns the
// accumulators of the batches completed so far (every sample before
// Metrics.N, none after) together with the error, so the caller can write
// partial results and resume later with Config.Start.
func Run(ctx context.Context, c *Config) ([]*Metrics, error) {
	if c == nil || c.Samples == nil || c.Preprocess == nil || c.Model == nil || len(c.Scorers) == 0 {
		return nil, errors.New("evaluate: Run needs Samples, Preprocess, Model and at least one Scorer")
	}
	cfg := withDefaults(*c)
	ms, err := startMetrics(cfg)
	if err != nil {
		return nil, err
	}
	skip := ms[0].N
	if cfg.Limit > 0 && skip >= cfg.Limit {
		return ms, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &pipeline{cfg: cfg, per: -1, free: make(chan []float32, cfg.Prefetch+2)}
	defer func() { cancel(); p.wg.Wait() }()
	batches := p.start(ctx, skip)
	return p.consume(ctx, ms, skip, batches)
}

// withDefaults fills the zero settings of cfg.
func withDefaults(cfg Config) Config {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 32
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 2
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 10
	}
	return cfg
}

// pipeline is one Run: a reader goroutine cutting the stream into batches,
// decode workers filling their pixel buffers, and the caller scoring them
// in order.
type pipeline struct {
	cfg  Config
	wg   sync.WaitGroup
	free chan []float32 // pixel buffers of scored batches, for reuse
	mu   sync.Mutex     // guards per and the buffer hand-out
	per  int            // pixel values per image, from the first decoded sample
}

// alloc returns image i's pixel slice in batch b, n values long.
func (p *pipeline) alloc(b *batch, i, n int) ([]float32, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.per < 0 {
		p.per = n
	}
	if n != p.per {
		return nil, fmt.Errorf("preprocessed to %d values, the first sample to %d", n, p.per)
	}
	if b.pixels == nil {
		select {
		case b.pixels = <-p.free:
		default:
			b.pixels = make([]float32, p.cfg.BatchSize*p.per)
		}
	}
	return b.pixels[i*p.per : (i+1)*p.per], nil
}

// start launches the decode workers and the reader; batches are sent in
// stream order, their images decoded concurrently.
func (p *pipeline) start(ctx context.Context, skip int) <-chan *batch {
	cfg := p.cfg
	batches := make(chan *batch, cfg.Prefetch)
	jobs := make(chan job, cfg.BatchSize)
	for range cfg.Workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for j := range jobs {
				j.b.errs[j.i] = decodeInto(ctx, cfg.Preprocess, j, p.alloc)
				j.b.wg.Done()
			}
		}()
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(batches)
		defer close(jobs)
		read(ctx, cfg, cfg.Samples(skip), skip, skip, cfg.BatchSize, batches, jobs)
	}()
	return batches
}

// consume scores the batches in order, reporting progress and saving
// checkpoints.
func (p *pipeline) consume(ctx context.Context, ms []*Metrics, skip int, batches <-chan *batch) ([]*Metrics, error) {
	cfg, start, done := p.cfg, time.Now(), 0
	for b := range batches {
		b.wg.Wait()
		if err := batchError(b, cfg.SkipBad, cfg.BadSample); err != nil {
			return ms, err
		}
		if b.n > 0 {
			if err := ctx.Err(); err != nil {
				return ms, err
			}
			if err := score(ctx, cfg, ms, b, p.per); err != nil {
				return ms, err
			}
			if b.pixels != nil { // nil when every sample of the batch was bad
				select {
				case p.free <- b.pixels:
				default:
				}
			}
			done++
			if cfg.Progress != nil {
				cfg.Progress(Progress{Done: ms[0].N, Skipped: skip, Elapsed: time.Since(start), Metrics: ms[0]})
			}
			if cfg.Checkpoint != nil && done%cfg.CheckpointEvery == 0 {
				if err := cfg.Checkpoint(ms); err != nil {
					return ms, err
				}
			}
		}
		if b.err != nil {
			return ms, b.err
		}
	}
	if err := ctx.Err(); err != nil { // cancelled while the reader was stopping
		return ms, err
	}
	return ms, nil
}

// startMetrics returns the accumulators to add to: Config.Start, checked,
// or new ones.
func startMetrics(cfg Config) ([]*Metrics, error) {
	if cfg.Start == nil {
		ms := make([]*Metrics, len(cfg.Scorers))
		for i := range ms {
			var err error
			if ms[i], err = NewMetrics(cfg.NumClasses); err != nil {
				return nil, err
			}
		}
		return ms, nil
	}
	if len(cfg.Start) != len(cfg.Scorers) {
		return nil, fmt.Errorf("evaluate: %d restored accumulators for %d scorers", len(cfg.Start), len(cfg.Scorers))
	}
	for _, m := range cfg.Start {
		if m == nil || m.NumClasses != cfg.NumClasses || m.N != cfg.Start[0].N {
			return nil, errors.New("evaluate: restored accumulators disagree with each other or with the class count")
		}
	}
	return cfg.Start, nil
}

// read streams the samples into batches (sent in order on batches before
// their samples are handed to the decoders on jobs). The stream's first
// sample is sample first; read skips up to sample skip and stops at
// cfg.Limit, at the end of the stream, or when ctx is cancelled.
func read(ctx context.Context, cfg Config, samples iter.Seq2[dataset.Sample, error], first, skip, bs int, batches chan<- *batch, jobs chan<- job) {
	var b *batch
	send := func() bool { // hands the current batch to the consumer
		b.wg.Add(1) // the reader's hold until the batch is complete
		select {
		case batches <- b:
			return true
		case <-ctx.Done():
			b.wg.Done()
			return false
		}
	}
	finish := func(err error) {
		if b != nil {
			b.err = err
			b.wg.Done()
			b = nil
		} else if err != nil {
			b = &batch{err: err}
			if send() {
				b.wg.Done()
			}
		}
	}
	idx := first
	for s, err := range samples {
		if err != nil {
			finish(err)
			return
		}
		if cfg.Limit > 0 && idx >= cfg.Limit {
			break
		}
		if idx < skip {
			idx++
			continue
		}
		if b == nil {
			b = &batch{first: idx, labels: make([]int, bs), errs: make([]error, bs)}
			if !send() {
				b = nil
				return
			}
		}
		i := b.n
		b.n++
		b.labels[i] = s.Label
		if s.Label < 0 || s.Label >= cfg.NumClasses {
			msg := fmt.Errorf("label %d outside the %d classes", s.Label, cfg.NumClasses)
			if s.Label < 0 {
				msg = errors.New("no .cls label (unlabelled sample)")
			}
			b.errs[i] = &SampleError{Index: idx, Key: s.Key, Source: s.Source, Err: msg}
			finish(nil)
			return
		}
		b.wg.Add(1)
		select {
		case jobs <- job{b, i, s}:
		case <-ctx.Done():
			b.wg.Done()
			b.errs[i] = ctx.Err()
			finish(nil)
			return
		}
		idx++
		if b.n == bs {
			finish(nil)
		}
	}
	finish(nil)
}

func decodeInto(ctx context.Context, pre func(dataset.Sample) ([]float32, error), j job, alloc func(*batch, int, int) ([]float32, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	wrap := func(err error) error {
		return &SampleError{Index: j.b.first + j.i, Key: j.s.Key, Source: j.s.Source, Err: err}
	}
	px, err := pre(j.s)
	if err != nil {
		return wrap(err)
	}
	dst, err := alloc(j.b, j.i, len(px))
	if err != nil {
		return wrap(err)
	}
	copy(dst, px)
	return nil
}

// batchError is the first per-sample error of b, in stream order. With
// skip, undecodable samples (*SampleError) are reported to bad instead.
func batchError(b *batch, skip bool, bad func(error)) error {
	for _, err := range b.errs[:b.n] {
		var se *SampleError
		if err == nil || skip && errors.As(err, &se) {
			continue
		}
		return err
	}
	if skip && bad != nil {
		for _, err := range b.errs[:b.n] {
			if err != nil {
				bad(err)
			}
		}
	}
	return nil
}

// compact moves the good samples of a batch with bad ones (SkipBad) to the
// front and returns their pixels and labels and the number of bad ones.
func compact(b *batch, per int) (pixels []float32, labels []int, nbad int) {
	for i := 0; i < b.n; i++ {
		if b.errs[i] != nil {
			nbad++
			continue
		}
		k := i - nbad
		if k != i {
			copy(b.pixels[k*per:(k+1)*per], b.pixels[i*per:(i+1)*per])
		}
		labels = append(labels, b.labels[i])
	}
	if len(labels) > 0 {
		pixels = b.pixels[:len(labels)*per]
	}
	return pixels, labels, nbad
}

// score embeds a complete batch and adds its samples to every accumulator.
// The accumulators change only if the whole batch succeeds.
func score(ctx context.Context, cfg Config, ms []*Metrics, b *batch, per int) error {
	pixels, labels, nbad := compact(b, per)
	n := len(labels)
	if n == 0 {
		for _, m := range ms {
			m.N, m.Bad = m.N+nbad, m.Bad+nbad
		}
		return nil
	}
	emb, err := cfg.Model.EmbedPixels(ctx, pixels)
	if err != nil {
		return fmt.Errorf("evaluate: samples %d…%d: %w", b.first, b.first+b.n-1, err)
	}
	if len(emb) != n {
		return fmt.Errorf("evaluate: the model returned %d embeddings for %d images", len(emb), n)
	}
	rows := make([][][]float32, len(cfg.Scorers))
	for k, sc := range cfg.Scorers {
		if rows[k], err = sc.Scores(emb); err != nil {
			return fmt.Errorf("evaluate: samples %d…%d: %w", b.first, b.first+b.n-1, err)
		}
		if len(rows[k]) != n {
			return fmt.Errorf("evaluate: scorer %d returned %d rows for %d images", k, len(rows[k]), n)
		}
		for i, r := range rows[k] {
			if len(r) != cfg.NumClasses {
				return fmt.Errorf("evaluate: scorer %d gave %d scores for sample %d, want %d classes", k, len(r), b.first+i, cfg.NumClasses)
			}
		}
	}
	for k, m := range ms {
		for i, r := range rows[k] {
			if err := m.Add(labels[i], r); err != nil { // labels were checked by read
				return err
			}
		}
		m.N, m.Bad = m.N+nbad, m.Bad+nbad
	}
	return nil
}
