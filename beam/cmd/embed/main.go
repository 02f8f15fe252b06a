// Command embed embeds a whole image collection with goclip on Apache Beam
// and writes clip-retrieval's output layout (img_emb/, text_emb/,
// metadata/), which autofaiss and clip-retrieval's back end read:
//
//	embed --runner prism --model M --input D --output OUT [--batch 32] [--precision f32]
//	      [--split test] [--workers 1] [--part-size 10000] [--float32] [--no-text]
//	      [--captions FILE] [--cpuprofile FILE]
//
// --model and --input take what the core CLI's --model and --dataset take:
// a model folder or Hub id; a WebDataset folder in CLIP_benchmark's layout,
// .tar shards, an ImageFolder or a plain folder, or a Hub dataset id. A
// path with a scheme (gs://, memfs://) or a glob is read through Beam's
// file systems instead (see bulk.ListFiles), and --output may be one too.
// Each WebDataset shard (or --part-size files of a folder) is one part and
// one set of output files. --captions gives a folder's captions as one
// text file, line i for image i in sorted order (see bulk.CheckCaptions).
//
// --runner is Beam's: prism (default; local, in process), flink, spark,
// dataflow, universal, with Beam's own flags for them (--endpoint,
// --environment_type, --project, --region, --temp_location, ...).
// Input and output paths must be readable and writable from every worker.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/goclip/goclip/beam/bulk"
	"github.com/goclip/goclip/hub"
	"github.com/goclip/goclip/internal/cputime"
)

type options struct {
	model, input, output, precision, split *string
	batch, workers, partSize               *int
	float32, noText                        *bool
	captions                               *string
	cpuprofile                             *string
}

// Flags live on flag.CommandLine: Beam's own (--runner, --endpoint, ...)
// are registered there by its packages, and a worker binary started by a
// portable runner parses them all from the same command line.
func newOptions(fs *flag.FlagSet) options {
	return options{
		model:      fs.String("model", "", "model folder or Hugging Face Hub id (org/name[@revision])"),
		input:      fs.String("input", "", "dataset: WebDataset folder or .tar shard, ImageFolder, folder of images, or Hub dataset id"),
		output:     fs.String("output", "", "output folder (img_emb/, text_emb/, metadata/, summary.json)"),
		precision:  fs.String("precision", "f32", "model weights precision: f32 (parity path), bf16 or int8 (as clip --precision)"),
		split:      fs.String("split", "", "WebDataset split folder (default test)"),
		batch:      fs.Int("batch", 32, "images per forward pass"),
		workers:    fs.Int("workers", 1, "parts embedded at once in one worker process"),
		partSize:   fs.Int("part-size", bulk.DefaultPartSize, "images per part for folder inputs"),
		float32:    fs.Bool("float32", false, "write float32 embeddings (default float16, as clip-retrieval)"),
		noText:     fs.Bool("no-text", false, "do not embed captions (.txt members or files)"),
		captions:   fs.String("captions", "", "text file of captions, one line per image of a folder input in sorted order (overrides name.txt files)"),
		cpuprofile: fs.String("cpuprofile", "", "write a CPU profile of the run (with Prism: engine and workers, one process) to this file"),
	}
}

func main() {
	o := newOptions(flag.CommandLine)
	flag.Parse()
	beam.Init() // a worker binary started by a runner turns into the SDK harness here
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, stdout io.Writer) error {
	if *o.model == "" || *o.input == "" || *o.output == "" {
		return errors.New("--model, --input and --output are required")
	}
	if *o.batch <= 0 || *o.workers <= 0 || *o.partSize <= 0 {
		return errors.New("--batch, --workers and --part-size must be positive")
	}
	modelDir, err := hub.ResolveModel(ctx, *o.model, hub.New(&hub.Config{Progress: hub.NewProgressReporter(os.Stderr)}))
	if err != nil {
		return err
	}
	input := absIfLocal(*o.input)
	parts, err := listParts(ctx, input, *o.split, *o.partSize)
	if err != nil {
		return err
	}
	captions := absIfLocal(*o.captions)
	if captions != "" {
		if err := bulk.CheckCaptions(ctx, captions, parts); err != nil {
			return err
		}
	}
	out := *o.output
	if !strings.Contains(out, "://") {
		if out, err = filepath.Abs(out); err != nil {
			return err
		}
	}
	modelDir, _ = filepath.Abs(modelDir)
	p, s := beam.NewPipelineWithRoot()
	bulk.Build(s, parts, bulk.Options{
		Model: modelDir, Precision: *o.precision, Dataset: input, Split: *o.split, Output: out,
		Batch: *o.batch, Workers: *o.workers, Float32: *o.float32, NoText: *o.noText,
		Captions: captions,
	})
	if *o.cpuprofile != "" {
		stop, err := startProfile(*o.cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}
	restore, err := privateTempDir()
	if err != nil {
		return err
	}
	defer restore()
	cpu0 := cputime.Process()
	start := time.Now()
	res, err := beamx.RunWithMetrics(ctx, p)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	cpu := cputime.Process() - cpu0
	if err := report(ctx, stdout, res, out, len(parts), elapsed); err != nil {
		return err
	}
	if cpu > 0 {
		// With Prism (loopback workers) the engine and the workers are this
		// one process, so this is the whole run's CPU.
		fmt.Fprintf(stdout, "process cpu %.2fs in %.2fs wall: %.2f cores busy of GOMAXPROCS %d\n",
			cpu.Seconds(), elapsed.Seconds(), cpu.Seconds()/elapsed.Seconds(), runtime.GOMAXPROCS(0))
	}
	return nil
}

// privateTempDir points TMPDIR at a new folder for the run and returns
// the function that restores it and removes the folder: Beam's loopback
// mode (Prism) leaves an empty "beamloopbackworker-*" file in
// os.TempDir() per run (Beam issue 27569), and other runners build their
// worker binary there.
func privateTempDir() (restore func(), err error) {
	dir, err := os.MkdirTemp("", "goclip-embed-")
	if err != nil {
		return nil, err
	}
	old, had := os.LookupEnv("TMPDIR")
	os.Setenv("TMPDIR", dir)
	return func() {
		if had {
			os.Setenv("TMPDIR", old)
		} else {
			os.Unsetenv("TMPDIR")
		}
		os.RemoveAll(dir)
	}, nil
}

// listParts lists the input's parts: through Beam's file systems for a
// path with a scheme or a glob (gs://bucket/shards/*.tar), through
// dataset.Open otherwise (local folders and shards, Hub datasets).
func listParts(ctx context.Context, input, split string, partSize int) ([]bulk.Part, error) {
	if bulk.IsBeamPath(input) {
		return bulk.ListFiles(ctx, input, partSize)
	}
	ds, err := bulk.OpenDataset(ctx, input, split)
	if err != nil {
		return nil, err
	}
	return bulk.ListParts(ds, partSize)
}

// absIfLocal makes an existing local path absolute (workers may run in
// another directory); anything else (a Hub id) is returned as is.
func absIfLocal(ref string) string {
	if _, err := os.Stat(ref); err == nil {
		if a, err := filepath.Abs(ref); err == nil {
			return a
		}
	}
	return ref
}

func report(ctx context.Context, w io.Writer, res beam.PipelineResult, out string, parts int, elapsed time.Duration) error {
	counters := map[string]int64{}
	if res != nil {
		for _, c := range res.Metrics().AllMetrics().Counters() {
			counters[c.Key.Name] += c.Result()
		}
	}
	names := make([]string, 0, len(counters))
	for n := range counters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "metric %s: %d\n", n, counters[n])
	}
	if res != nil {
		reportDistributions(w, res.Metrics().AllMetrics().Distributions())
	}
	sum, err := bulk.ReadSummary(ctx, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d parts, %d images, %d captions embedded in %.1fs (%.2f images/s); %d skipped\n",
		sum.Parts, sum.Images, sum.Texts, elapsed.Seconds(), float64(sum.Images)/elapsed.Seconds(), len(sum.Bad))
	for i, b := range sum.Bad {
		if i == 10 {
			fmt.Fprintf(w, "  ... (all in %s/%s)\n", out, bulk.SummaryFile)
			break
		}
		fmt.Fprintln(w, "  skipped", b)
	}
	if sum.Parts != parts {
		return fmt.Errorf("%d parts listed but %d reported", parts, sum.Parts)
	}
	return nil
}

func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// reportDistributions prints the goclip timing distributions (in ms):
// count, total, mean and max over all bundles.
func reportDistributions(w io.Writer, ds []metrics.DistributionResult) {
	sum := map[string]metrics.DistributionValue{}
	for _, d := range ds {
		if d.Namespace() != "goclip" {
			continue
		}
		v, r := sum[d.Name()], d.Result()
		v.Count += r.Count
		v.Sum += r.Sum
		v.Max = max(v.Max, r.Max)
		sum[d.Name()] = v
	}
	names := make([]string, 0, len(sum))
	for n := range sum {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := sum[n]
		fmt.Fprintf(w, "timing %s: %d calls, total %.2fs, mean %.1f ms, max %d ms\n",
			strings.TrimSuffix(n, "_ms"), v.Count, float64(v.Sum)/1e3, float64(v.Sum)/float64(max(v.Count, 1)), v.Max)
	}
}
