package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// runBench times the towers:
//
//	clip bench --model DIR --batch N --duration D
//
// It embeds batches of synthetic pixel values after a warm-up batch and
// prints "images/s: X", then batches of 77-token inputs, "texts/s: Y".
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	model := fs.String("model", "", "model folder or Hugging Face Hub id (org/name[@revision])")
	batch := fs.Int("batch", 8, "images or texts per call")
	duration := fs.Duration("duration", 5*time.Second, "time per tower (after a warm-up call)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *batch <= 0 {
		return errors.New("bench: --batch must be positive")
	}
	t0 := time.Now()
	m, _, err := loadModel(ctx, *model, stderr)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer m.Close()
	fmt.Fprintf(stderr, "load: %.3fs\n", time.Since(t0).Seconds())
	s := m.ImageSize()
	px := make([]float32, *batch*3*s*s)
	for i := range px { // a deterministic pattern in the normalised range
		px[i] = float32(i%251)/125 - 1
	}
	cfg := m.Config().TextConfig
	L := cfg.MaxPositionEmbeddings
	ids := make([][]int32, *batch)
	for i := range ids {
		ids[i] = make([]int32, L)
		ids[i][0] = int32(cfg.BOSTokenID)
		for j := 1; j < L-1; j++ {
			ids[i][j] = int32(256 + (i*L+j)%40000)
		}
		ids[i][L-1] = int32(cfg.VocabSize - 1) // the highest id: the pooled EOS under either rule
		if cfg.EOSTokenID != 2 && cfg.EOSTokenID < cfg.VocabSize {
			ids[i][L-1] = int32(cfg.EOSTokenID)
		}
	}
	rate := func(f func() error) (float64, error) {
		if err := f(); err != nil { // warm-up
			return 0, err
		}
		start := time.Now()
		n := 0
		for n == 0 || time.Since(start) < *duration {
			if err := f(); err != nil {
				return 0, err
			}
			n += *batch
		}
		return float64(n) / time.Since(start).Seconds(), nil
	}
	r, err := rate(func() error { _, err := m.EmbedPixels(ctx, px, *batch); return err })
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	fmt.Fprintf(stdout, "images/s: %.2f\n", r)
	r, err = rate(func() error { _, err := m.EmbedTokens(ctx, ids); return err })
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	fmt.Fprintf(stdout, "texts/s: %.2f\n", r)
	return nil
}
