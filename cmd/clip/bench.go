package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/cputime"
	"github.com/goclip/goclip/tensor"
)

const benchHelp = `usage: clip bench --model M [--batch 1,10,64] [--text-batch N] [--duration D] [--cpuprofile FILE]

Times the towers. For each image batch size it embeds synthetic pixel
values (after one warm-up call) for --duration and prints

  images batch N: images/s: X (Y ms per call; Z cpu-ms per image)

(Z: the process's user + system CPU time per image, the steadier number
when other programs share the cores; it includes the up to 100 µs a
helper spins waiting for the next parallel section). Then it embeds
--text-batch real prompts, "a photo of a {class}." for the first ImageNet
classes, tokenized before timing, and prints

  texts batch N: texts/s: X (Y ms per call)

and the same for texts that share no prefix but the start token,
"{class}, seen in a photo." (the tower computes a prefix common to several
texts of a batch once):

  distinct texts batch N: texts/s: X (Y ms per call)

--precision bf16 or int8 converts the encoder weights at load (see
clip.LoadOptions); the first lines name the precision and the kernels
chosen for this CPU. The load time goes to stdout and stderr.
GOMAXPROCS sets the number of threads; measure peak memory from outside
(/usr/bin/time -v).`

// benchArgs are the flags of `clip bench`.
type benchArgs struct {
	model      string
	batches    []int
	textBatch  int
	duration   time.Duration
	cpuprofile string
	precision  clip.Precision
}

// runBench implements `clip bench`.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, err := parseBench(args, stdout)
	if err != nil {
		return err
	}
	t0 := time.Now()
	m, err := loadModel(ctx, a.model, a.precision, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	fmt.Fprintf(stderr, "load: %.3fs\n", time.Since(t0).Seconds())
	fmt.Fprintf(stdout, "load: %.3f s, GOMAXPROCS %d\n", time.Since(t0).Seconds(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(stdout, "precision: %s; kernels: %s\n", cmp.Or(a.precision, clip.F32), tensor.Kernels())
	if a.cpuprofile != "" {
		f, err := os.Create(a.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if err := benchImages(ctx, m, a, stdout); err != nil {
		return err
	}
	return benchTexts(ctx, m, a, stdout)
}

// parseBench parses the flags of `clip bench`.
func parseBench(args []string, stdout io.Writer) (benchArgs, error) {
	var a benchArgs
	fs := newCmdFlags("bench", benchHelp)
	fs.StringVar(&a.model, "model", defaultModel, "model folder or Hugging Face Hub id (org/name[@revision])")
	precisionVar(fs.FlagSet, &a.precision)
	batchList := fs.String("batch", "8", "image batch sizes, comma-separated (each timed in turn)")
	fs.IntVar(&a.textBatch, "text-batch", 0, "prompts per text call (default: the first --batch)")
	fs.DurationVar(&a.duration, "duration", 5*time.Second, "time per measurement (after a warm-up call)")
	fs.StringVar(&a.cpuprofile, "cpuprofile", "", "write a CPU profile of the timed calls to this file")
	rest, err := fs.parse(args, stdout)
	if err != nil {
		return a, err
	}
	if len(rest) > 0 {
		return a, fs.usage("unexpected argument %q", rest[0])
	}
	for _, f := range strings.Split(*batchList, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || b <= 0 {
			return a, fs.usage("--batch %q: want positive integers separated by commas", *batchList)
		}
		a.batches = append(a.batches, b)
	}
	if a.textBatch < 0 {
		return a, fs.usage("--text-batch must be positive")
	}
	if a.textBatch == 0 {
		a.textBatch = a.batches[0]
	}
	return a, nil
}

// benchRate calls f once to warm up, then for at least two calls and
// duration, and returns the items per second, milliseconds per call and
// the process's CPU milliseconds per item (0 where not measured): on a
// shared machine the CPU time is the steadier number.
func benchRate(n int, duration time.Duration, f func() error) (perSec, msPerCall, cpuMsPerItem float64, err error) {
	if err := f(); err != nil {
		return 0, 0, 0, err
	}
	cpu0 := cputime.Process()
	start := time.Now()
	calls := 0
	for calls < 2 || time.Since(start) < duration {
		if err := f(); err != nil {
			return 0, 0, 0, err
		}
		calls++
	}
	el := time.Since(start).Seconds()
	cpu := (cputime.Process() - cpu0).Seconds()
	return float64(calls*n) / el, el / float64(calls) * 1e3, cpu / float64(calls*n) * 1e3, nil
}

// benchImages times the image tower at every batch size.
func benchImages(ctx context.Context, m *clip.Model, a benchArgs, stdout io.Writer) error {
	s := m.ImageSize()
	if s == 0 {
		return benchPatches(ctx, m, a, stdout)
	}
	for _, b := range a.batches {
		px := make([]float32, b*3*s*s)
		for i := range px { // a deterministic pattern in the normalised range
			px[i] = float32(i%251)/125 - 1
		}
		r, ms, cpu, err := benchRate(b, a.duration, func() error { _, err := m.EmbedPixels(ctx, px); return err })
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "images batch %d: images/s: %.2f (%.1f ms per call; %.1f cpu-ms per image)\n", b, r, ms, cpu)
	}
	return nil
}

// benchPatches times a SigLIP 2 NaFlex image tower on square images: the
// patch grid Siglip2ImageProcessor gives a square image (at most
// max_num_patches patches, as the model's own preprocessing).
func benchPatches(ctx context.Context, m *clip.Model, a benchArgs, stdout io.Writer) error {
	pc := m.Processor().Config()
	h, w := imageproc.NaFlexSize(1024, 1024, pc.PatchSize, pc.MaxNumPatches)
	h, w = h/pc.PatchSize, w/pc.PatchSize
	vals := make([]float32, h*w*pc.PatchSize*pc.PatchSize*3)
	for i := range vals { // a deterministic pattern in the normalised range
		vals[i] = float32(i%251)/125 - 1
	}
	for _, b := range a.batches {
		ps := make([]imageproc.Patches, b)
		for i := range ps {
			ps[i] = imageproc.Patches{Values: vals, Height: h, Width: w}
		}
		r, ms, cpu, err := benchRate(b, a.duration, func() error { _, err := m.EmbedPatches(ctx, ps); return err })
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "images batch %d (NaFlex %dx%d patches): images/s: %.2f (%.1f ms per call; %.1f cpu-ms per image)\n", b, h, w, r, ms, cpu)
	}
	return nil
}

// benchTexts times the text tower on shared-prefix and distinct prompts.
func benchTexts(ctx context.Context, m *clip.Model, a benchArgs, stdout io.Writer) error {
	for _, v := range []struct{ label, template string }{
		{"texts", "a photo of a {}."},
		{"distinct texts", "{}, seen in a photo."},
	} {
		ids, err := benchPrompts(m, v.template, a.textBatch)
		if err != nil {
			return err
		}
		r, ms, _, err := benchRate(len(ids), a.duration, func() error { _, err := m.EmbedTokens(ctx, ids); return err })
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s batch %d: texts/s: %.2f (%.1f ms per call)\n", v.label, len(ids), r, ms)
	}
	return nil
}

// benchPrompts tokenizes template filled with the first n ImageNet classes
// (cycling past 1,000) with the model's tokenizer; ids the model's
// vocabulary cannot hold are clamped, so small test models run too.
func benchPrompts(m *clip.Model, template string, n int) ([][]int32, error) {
	classes := clip.ImageNetClasses()
	vocab := int32(m.Config().TextConfig.VocabSize)
	ids := make([][]int32, n)
	for i := range ids {
		var err error
		if ids[i], err = m.Tokenize(clip.ApplyTemplate(template, classes[i%len(classes)])); err != nil {
			return nil, err
		}
		for j, id := range ids[i] {
			if id >= vocab {
				ids[i][j] = vocab - 1
			}
		}
	}
	return ids, nil
}
