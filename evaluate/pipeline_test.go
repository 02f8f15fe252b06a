package evaluate

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goclip/goclip/dataset"
)

// The fakes: sample i's "image" is its index; Preprocess turns it into
// a score vector drawn from a generator seeded by i (after a random
// pause, so decoders finish out of order); the model passes pixels
// through as embeddings and the scorer passes embeddings through as
// scores. The expected counts are then Metrics.Add over the samples in
// order, with no pipeline.

const fakeClasses = 12

func fakeScores(i int) []float32 {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	s := make([]float32, fakeClasses)
	for c := range s {
		s[c] = r.Float32()
	}
	return s
}

func fakeLabel(i int) int { return (i * 5) % fakeClasses }

// fakeSamples streams n samples; maxIdx records the highest index yielded.
func fakeSamples(n int, maxIdx *atomic.Int64) iter.Seq2[dataset.Sample, error] {
	return func(yield func(dataset.Sample, error) bool) {
		for i := range n {
			if maxIdx != nil {
				maxIdx.Store(int64(i))
			}
			s := dataset.Sample{Key: fmt.Sprintf("s%07d", i), Image: []byte(fmt.Sprint(i)), Label: fakeLabel(i), Source: "fake.tar"}
			if !yield(s, nil) {
				return
			}
		}
	}
}

func fakePreprocess(s dataset.Sample) ([]float32, error) {
	var i int
	fmt.Sscan(string(s.Image), &i)
	time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
	return fakeScores(i), nil
}

type passModel struct {
	calls atomic.Int64
}

func (m *passModel) EmbedPixels(ctx context.Context, px []float32) ([][]float32, error) {
	m.calls.Add(1)
	n := len(px) / fakeClasses
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(px) != n*fakeClasses {
		return nil, fmt.Errorf("%d values for %d images", len(px), n)
	}
	out := make([][]float32, n)
	for i := range out {
		out[i] = append([]float32(nil), px[i*fakeClasses:(i+1)*fakeClasses]...)
	}
	return out, nil
}

type passScorer struct{ negate bool }

func (s passScorer) Scores(emb [][]float32) ([][]float32, error) {
	out := make([][]float32, len(emb))
	for i, e := range emb {
		out[i] = append([]float32(nil), e...)
		if s.negate {
			for j := range out[i] {
				out[i][j] = -out[i][j]
			}
		}
	}
	return out, nil
}

func sequential(t *testing.T, n int, negate bool) *Metrics {
	m, _ := NewMetrics(fakeClasses)
	for i := range n {
		s := fakeScores(i)
		if negate {
			for j := range s {
				s[j] = -s[j]
			}
		}
		if err := m.Add(fakeLabel(i), s); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func sameCounts(t *testing.T, what string, got, want *Metrics) {
	t.Helper()
	if got.N != want.N || got.Top1 != want.Top1 || got.Top5 != want.Top5 ||
		!reflect.DeepEqual(got.Support, want.Support) || !reflect.DeepEqual(got.Correct, want.Correct) ||
		!reflect.DeepEqual(got.Confusions, want.Confusions) {
		t.Errorf("%s: counts N=%d top1=%d top5=%d, want N=%d top1=%d top5=%d (or per-class counts differ)",
			what, got.N, got.Top1, got.Top5, want.N, want.Top1, want.Top5)
	}
}

func fakeConfig(n int) Config {
	return Config{
		Samples: fromStart(fakeSamples(n, nil)), Preprocess: fakePreprocess, Model: &passModel{},
		Scorers: []Scorer{passScorer{}, passScorer{negate: true}}, NumClasses: fakeClasses,
	}
}

func TestRunMatchesSequential(t *testing.T) {
	const n = 103 // not a multiple of any batch size below: a short last batch
	want := []*Metrics{sequential(t, n, false), sequential(t, n, true)}
	for _, bs := range []int{1, 4, 32, 200} {
		for _, workers := range []int{1, 3} {
			cfg := fakeConfig(n)
			cfg.BatchSize, cfg.Workers = bs, workers
			model := cfg.Model.(*passModel)
			ms, err := Run(context.Background(), &cfg)
			if err != nil {
				t.Fatal(err)
			}
			for k := range ms {
				sameCounts(t, fmt.Sprintf("batch %d workers %d scorer %d", bs, workers, k), ms[k], want[k])
			}
			// Both scorers share one pass of embeddings.
			if got, wantCalls := model.calls.Load(), int64((n+bs-1)/bs); got != wantCalls {
				t.Errorf("batch %d: %d model calls, want %d", bs, got, wantCalls)
			}
		}
	}
}

func TestRunLimit(t *testing.T) {
	cfg := fakeConfig(50)
	cfg.BatchSize, cfg.Limit = 8, 21
	ms, err := Run(context.Background(), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	sameCounts(t, "limit 21", ms[0], sequential(t, 21, false))
}

// TestRunBoundedPrefetch checks that the reader stays at most a few
// batches ahead of the model: memory holds Prefetch+2 batches at most.
func TestRunBoundedPrefetch(t *testing.T) {
	const n, bs, prefetch = 400, 5, 2
	var maxIdx atomic.Int64
	cfg := fakeConfig(n)
	cfg.Samples = fromStart(fakeSamples(n, &maxIdx))
	cfg.BatchSize, cfg.Prefetch = bs, prefetch
	worst := int64(0)
	cfg.Progress = func(p Progress) {
		time.Sleep(time.Millisecond) // a slow model: the reader would run ahead if it could
		worst = max(worst, maxIdx.Load()-int64(p.Done))
	}
	if _, err := Run(context.Background(), &cfg); err != nil {
		t.Fatal(err)
	}
	// Ahead of the scored samples: the batches in the channel (prefetch),
	// the one being filled, and one sample the iterator yielded before
	// the reader blocked.
	if limit := int64((prefetch+1)*bs + 1); worst > limit {
		t.Errorf("reader ran %d samples ahead of the model, bound %d", worst, limit)
	}
}

// TestRunCancelResume interrupts a run after some batches, writes and reads
// the partial results, resumes, and checks the final counts equal an
// uninterrupted run's.
func TestRunCancelResume(t *testing.T) {
	const n, bs = 97, 8
	full, err := Run(context.Background(), func() *Config { c := fakeConfig(n); c.BatchSize = bs; return &c }())
	if err != nil {
		t.Fatal(err)
	}
	for _, stopAfter := range []int{1, 5, 12} {
		ctx, cancel := context.WithCancel(context.Background())
		cfg := fakeConfig(n)
		cfg.BatchSize = bs
		batches := 0
		checkpoints := 0
		cfg.CheckpointEvery = 2
		cfg.Checkpoint = func([]*Metrics) error { checkpoints++; return nil }
		cfg.Progress = func(Progress) {
			if batches++; batches == stopAfter {
				cancel()
			}
		}
		part, err := Run(ctx, &cfg)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("stop after %d: err %v, want context.Canceled", stopAfter, err)
		}
		if part[0].N != stopAfter*bs {
			t.Fatalf("stop after %d batches: %d samples done, want %d", stopAfter, part[0].N, stopAfter*bs)
		}
		if checkpoints != stopAfter/2 {
			t.Errorf("%d checkpoints after %d batches every 2", checkpoints, stopAfter)
		}
		sameCounts(t, "partial", part[0], sequential(t, part[0].N, false))

		// Through the results file, as `clip eval --resume` does.
		var start []*Metrics
		for k, m := range part {
			p := filepath.Join(t.TempDir(), fmt.Sprintf("r%d.json", k))
			if err := m.Results("d", "m", "names", false).WriteFile(p); err != nil {
				t.Fatal(err)
			}
			r, err := ReadResults(p)
			if err != nil {
				t.Fatal(err)
			}
			if r.Complete || r.Samples != part[0].N {
				t.Errorf("partial file: complete %v samples %d", r.Complete, r.Samples)
			}
			rm, err := r.Restore()
			if err != nil {
				t.Fatal(err)
			}
			start = append(start, rm)
		}
		cfg = fakeConfig(n)
		cfg.BatchSize, cfg.Start = bs, start
		var decoded atomic.Int64
		cfg.Preprocess = func(s dataset.Sample) ([]float32, error) { decoded.Add(1); return fakePreprocess(s) }
		ms, err := Run(context.Background(), &cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := decoded.Load(); got != int64(n-part[0].N) {
			t.Errorf("resume decoded %d samples, want the %d not yet done", got, n-part[0].N)
		}
		for k := range ms {
			sameCounts(t, fmt.Sprintf("resumed after %d batches, scorer %d", stopAfter, k), ms[k], full[k])
		}
	}
}

type failModel struct{ after int }

func (m *failModel) EmbedPixels(ctx context.Context, px []float32) ([][]float32, error) {
	if m.after <= 0 {
		return nil, errors.New("out of memory (fake)")
	}
	m.after--
	return (&passModel{}).EmbedPixels(ctx, px)
}

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("decode", func(t *testing.T) {
		cfg := fakeConfig(40)
		cfg.BatchSize = 8
		cfg.Preprocess = func(s dataset.Sample) ([]float32, error) {
			if s.Key == "s0000019" {
				return nil, errors.New("bad webp")
			}
			return fakePreprocess(s)
		}
		ms, err := Run(ctx, &cfg)
		var se *SampleError
		if !errors.As(err, &se) || se.Index != 19 || se.Key != "s0000019" || !strings.Contains(err.Error(), "bad webp") {
			t.Fatalf("err %v, want a SampleError for sample 19", err)
		}
		if ms[0].N != 16 { // the batches before the failing one
			t.Errorf("%d samples counted, want 16", ms[0].N)
		}
	})
	t.Run("label", func(t *testing.T) {
		cfg := fakeConfig(40)
		cfg.NumClasses = 5 // labels go up to 11
		cfg.Scorers = []Scorer{passScorer{}}
		_, err := Run(ctx, &cfg)
		if err == nil || !strings.Contains(err.Error(), "label 5 outside the 5 classes") || !strings.Contains(err.Error(), "s0000001") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("unlabelled", func(t *testing.T) {
		cfg := fakeConfig(3)
		cfg.Samples = fromStart(func(yield func(dataset.Sample, error) bool) {
			yield(dataset.Sample{Key: "x", Label: -1, Image: []byte("0")}, nil)
		})
		if _, err := Run(ctx, &cfg); err == nil || !strings.Contains(err.Error(), "no .cls label") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("stream", func(t *testing.T) {
		cfg := fakeConfig(0)
		cfg.BatchSize = 8
		bad := errors.New("shard 1.tar: truncated")
		cfg.Samples = fromStart(func(yield func(dataset.Sample, error) bool) {
			for s := range fakeSamples(11, nil) {
				if !yield(s, nil) {
					return
				}
			}
			yield(dataset.Sample{}, bad)
		})
		ms, err := Run(ctx, &cfg)
		if !errors.Is(err, bad) {
			t.Fatalf("err %v", err)
		}
		sameCounts(t, "before the stream error", ms[0], sequential(t, 11, false))
	})
	t.Run("model", func(t *testing.T) {
		cfg := fakeConfig(40)
		cfg.BatchSize = 8
		cfg.Model = &failModel{after: 2}
		ms, err := Run(ctx, &cfg)
		if err == nil || !strings.Contains(err.Error(), "samples 16…23") {
			t.Fatalf("err %v", err)
		}
		if ms[0].N != 16 {
			t.Errorf("%d samples counted, want 16", ms[0].N)
		}
	})
	t.Run("config", func(t *testing.T) {
		if _, err := Run(ctx, &Config{}); err == nil {
			t.Error("empty config accepted")
		}
		cfg := fakeConfig(4)
		m, _ := NewMetrics(3)
		cfg.Start = []*Metrics{m, m}
		if _, err := Run(ctx, &cfg); err == nil {
			t.Error("restored metrics with the wrong class count accepted")
		}
	})
	t.Run("cancelled before start", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		cfg := fakeConfig(40)
		ms, err := Run(c, &cfg)
		if !errors.Is(err, context.Canceled) || ms[0].N != 0 {
			t.Fatalf("err %v, %d samples", err, ms[0].N)
		}
	})
}

// TestRunEarlyStopReturns runs many runs concurrently whose model fails
// early and checks they all return: Run must not deadlock waiting for its
// reader and decoders (the minute is a deadlock guard, not a timing check).
func TestRunEarlyStopReturns(t *testing.T) {
	var wg sync.WaitGroup
	for k := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := fakeConfig(200)
			cfg.BatchSize = 4
			cfg.Model = &failModel{after: k % 5}
			Run(context.Background(), &cfg)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("runs that failed early did not return (deadlock)")
	}
}

// fakeSamplesFrom is fakeSamples as a SamplesFrom: it records each start
// asked for and every index it yields.
func fakeSamplesFrom(n int, starts *[]int, yielded *atomic.Int64) func(int) iter.Seq2[dataset.Sample, error] {
	return func(start int) iter.Seq2[dataset.Sample, error] {
		*starts = append(*starts, start)
		return func(yield func(dataset.Sample, error) bool) {
			for s, err := range fakeSamples(n, nil) {
				var i int
				fmt.Sscan(string(s.Image), &i)
				if i < start {
					continue
				}
				yielded.Add(1)
				if !yield(s, err) {
					return
				}
			}
		}
	}
}

// TestRunSamplesFrom: a run resumed through SamplesFrom asks for the
// stream from the first sample not yet counted, reads none before it and
// ends with the counts of an uninterrupted run; stream positions in errors
// and the limit still count from the dataset's first sample.
func TestRunSamplesFrom(t *testing.T) {
	const n, bs = 97, 8
	cfg := fakeConfig(n)
	cfg.BatchSize = bs
	full, err := Run(context.Background(), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, done := range []int{0, 8, 40, 96, 97} {
		var starts []int
		var yielded atomic.Int64
		part, err := Run(context.Background(), func() *Config {
			c := fakeConfig(n)
			c.BatchSize, c.Limit = bs, done
			return &c
		}())
		if err != nil {
			t.Fatal(err)
		}
		if done == 0 {
			part = nil
		}
		cfg := fakeConfig(n)
		cfg.Samples = fakeSamplesFrom(n, &starts, &yielded)
		cfg.BatchSize, cfg.Start = bs, part
		ms, err := Run(context.Background(), &cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(starts) != 1 || starts[0] != done || yielded.Load() != int64(n-done) {
			t.Errorf("resume after %d: SamplesFrom called with %v, %d samples read; want [%d], %d", done, starts, yielded.Load(), done, n-done)
		}
		for k := range ms {
			sameCounts(t, fmt.Sprintf("resumed after %d through SamplesFrom, scorer %d", done, k), ms[k], full[k])
		}
	}

	// A limit counts the restored samples; an error names the stream
	// position, not the position in the resumed stream.
	part, _ := Run(context.Background(), func() *Config { c := fakeConfig(n); c.BatchSize, c.Limit = bs, 16; return &c }())
	var starts []int
	var yielded atomic.Int64
	cfg = fakeConfig(n)
	cfg.Samples = fakeSamplesFrom(n, &starts, &yielded)
	cfg.BatchSize, cfg.Start, cfg.Limit = bs, part, 30
	ms, err := Run(context.Background(), &cfg)
	if err != nil || ms[0].N != 30 {
		t.Fatalf("limit 30 after 16: N=%d, %v", ms[0].N, err)
	}
	sameCounts(t, "limit after resume", ms[0], sequential(t, 30, false))
	part, _ = Run(context.Background(), func() *Config { c := fakeConfig(n); c.BatchSize, c.Limit = bs, 16; return &c }())
	cfg = fakeConfig(n)
	cfg.Samples = fakeSamplesFrom(n, &starts, &yielded)
	cfg.BatchSize, cfg.Start = bs, part
	cfg.Preprocess = func(s dataset.Sample) ([]float32, error) {
		if s.Key == "s0000021" {
			return nil, errors.New("bad image")
		}
		return fakePreprocess(s)
	}
	_, err = Run(context.Background(), &cfg)
	var se *SampleError
	if !errors.As(err, &se) || se.Index != 21 || se.Key != "s0000021" {
		t.Errorf("error %v, want a SampleError for sample 21", err)
	}
}

// fromStart serves a stream that cannot seek as Config.Samples: it reads
// past the first start samples.
func fromStart(seq iter.Seq2[dataset.Sample, error]) func(int) iter.Seq2[dataset.Sample, error] {
	return func(start int) iter.Seq2[dataset.Sample, error] {
		return func(yield func(dataset.Sample, error) bool) {
			i := 0
			for s, err := range seq {
				if (i >= start || err != nil) && !yield(s, err) {
					return
				}
				i++
			}
		}
	}
}
