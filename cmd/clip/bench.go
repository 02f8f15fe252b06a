package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/goclip/goclip/clip"
)

// runBench times the towers:
//
//	clip bench --model DIR [--batch 1,10,64] [--text-batch N] [--duration D]
//	           [--cpuprofile FILE]
//
// For each image batch size it embeds synthetic pixel values (after one
// warm-up call) for --duration and prints
//
//	images batch N: images/s: X (Y ms per call)
//
// then it embeds --text-batch real prompts, "a photo of a {class}." for
// the first ImageNet classes, tokenized before timing, and prints
//
//	texts batch N: texts/s: X (Y ms per call)
//
// and the same for texts that share no prefix but the start token,
// "{class}, seen in a photo." (the tower computes a prefix common to
// several texts of a batch once):
//
//	distinct texts batch N: texts/s: X (Y ms per call)
//
// The load time goes to stdout and stderr. GOMAXPROCS sets the number of
// threads; measure peak memory from outside (/usr/bin/time -v).
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "usage: clip bench --model DIR [--batch 1,10,64] [--text-batch N] [--duration D]", stderr)
	model := fs.String("model", "", "model folder or Hugging Face Hub id (org/name[@revision])")
	batchList := fs.String("batch", "8", "image batch sizes, comma-separated (each timed in turn)")
	textBatch := fs.Int("text-batch", 0, "prompts per text call (default: the first --batch)")
	duration := fs.Duration("duration", 5*time.Second, "time per measurement (after a warm-up call)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed calls to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var batches []int
	for _, f := range strings.Split(*batchList, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || b <= 0 {
			return fmt.Errorf("bench: --batch %q: want positive integers separated by commas", *batchList)
		}
		batches = append(batches, b)
	}
	if *textBatch < 0 {
		return errors.New("bench: --text-batch must be positive")
	}
	if *textBatch == 0 {
		*textBatch = batches[0]
	}
	t0 := time.Now()
	m, _, err := loadModel(ctx, *model, stderr)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer m.Close()
	fmt.Fprintf(stderr, "load: %.3fs\n", time.Since(t0).Seconds())
	fmt.Fprintf(stdout, "load: %.3f s, GOMAXPROCS %d\n", time.Since(t0).Seconds(), runtime.GOMAXPROCS(0))

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	rate := func(n int, f func() error) (perSec, msPerCall float64, err error) {
		if err := f(); err != nil { // warm-up
			return 0, 0, err
		}
		start := time.Now()
		calls := 0
		for calls < 2 || time.Since(start) < *duration {
			if err := f(); err != nil {
				return 0, 0, err
			}
			calls++
		}
		el := time.Since(start).Seconds()
		return float64(calls*n) / el, el / float64(calls) * 1e3, nil
	}
	s := m.ImageSize()
	for _, b := range batches {
		px := make([]float32, b*3*s*s)
		for i := range px { // a deterministic pattern in the normalised range
			px[i] = float32(i%251)/125 - 1
		}
		r, ms, err := rate(b, func() error { _, err := m.EmbedPixels(ctx, px); return err })
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		fmt.Fprintf(stdout, "images batch %d: images/s: %.2f (%.1f ms per call)\n", b, r, ms)
	}

	for _, v := range []struct{ label, template string }{
		{"texts", "a photo of a {}."},
		{"distinct texts", "{}, seen in a photo."},
	} {
		ids, err := benchPrompts(m, v.template, *textBatch)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		r, ms, err := rate(len(ids), func() error { _, err := m.EmbedTokens(ctx, ids); return err })
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		fmt.Fprintf(stdout, "%s batch %d: texts/s: %.2f (%.1f ms per call)\n", v.label, len(ids), r, ms)
	}
	return nil
}

// benchPrompts tokenizes template filled with the first n ImageNet classes
// (cycling past 1,000) with the model's tokenizer; ids the model's
// vocabulary cannot hold are clamped, so small test models run too.
func benchPrompts(m *clip.Model, template string, n int) ([][]int32, error) {
	tok := m.Tokenizer()
	if tok == nil {
		return nil, errors.New("model has no tokenizer")
	}
	classes := clip.ImageNetClasses()
	vocab := int32(m.Config().TextConfig.VocabSize)
	ids := make([][]int32, n)
	for i := range ids {
		ids[i] = tok.Encode(clip.ApplyTemplate(template, classes[i%len(classes)]))
		for j, id := range ids[i] {
			if id >= vocab {
				ids[i][j] = vocab - 1
			}
		}
	}
	return ids, nil
}
