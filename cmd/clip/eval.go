package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/dataset"
	"github.com/goclip/goclip/evaluate"
	"github.com/goclip/goclip/imageproc"
)

const evalUsage = `usage: clip eval --model M --dataset D [--templates openai|names|both|FILE | --classifier FILE] [--batch 32] [--limit K] [--out results.json] [--resume]

Zero-shot classification accuracy on a whole dataset, as LAION's
CLIP_benchmark reports it: top-1, top-5 and mean per-class recall. D is a
WebDataset folder (classnames.txt, zeroshot_classification_templates.txt,
test/nshards.txt, test/0.tar …), one .tar shard, an ImageFolder directory
(class/xxx.jpg) or a Hub dataset id such as clip-benchmark/wds_imagenetv2.

Templates: "openai" is the dataset's zeroshot_classification_templates.txt
when it has one, else the 80 OpenAI ImageNet templates; "names" uses the
class names alone; "both" evaluates both settings on one pass of image
embeddings; FILE has one template per line ("a photo of a {c}." or "{}").
--classifier FILE uses class embeddings saved by "clip classify
--save-classifier" or by an earlier eval (R.classifier.safetensors)
instead of embedding the class prompts; its class count must be the
dataset's and its dimension the model's.

Writes --out, say R.json (CLIP_benchmark's JSON plus resumable counts),
R.classes.csv (per-class recall) and R.confusions.csv (most frequent
mistakes); with "both", R.openai.json and R.names.json and their CSVs. The
class embeddings are kept in R[.setting].classifier.safetensors for
--resume. Partial results are written every --checkpoint batches; Ctrl-C
stops cleanly and writes them; --resume restores the counts and continues
from the first sample not yet done, skipping whole shards without reading
their images (the final numbers equal an uninterrupted run's).`

// evalSetting is one template setting: its name in the results and the
// files it writes.
type evalSetting struct {
	name       string   // "openai", "names" or the template file
	templates  []string // with "{}" placeholders; empty: names alone
	json, base string   // results file, and the prefix of its CSV and classifier files
	classifier *clip.Classifier
	start      *evaluate.Metrics // restored by --resume
}

// evalArgs are the flags of `clip eval`.
type evalArgs struct {
	model, ds, split, templates, classes, out string
	batch, workers, limit, every, nconf       int
	textBatch                                 int
	resume                                    bool
	// classifier is a saved classifier to use instead of embedding the
	// class prompts; templatesSet says --templates was given explicitly.
	classifier   string
	templatesSet bool
	// afterBatch, if set, is called after every batch (tests use it to
	// interrupt a run at a known point).
	afterBatch func(evaluate.Progress)
}

// runEval implements `clip eval`.
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, evalUsage+"\n\nflags:"); fs.PrintDefaults() }
	var a evalArgs
	fs.StringVar(&a.model, "model", defaultModel, "model folder or Hugging Face Hub id")
	fs.StringVar(&a.ds, "dataset", "", "WebDataset folder, .tar shard, ImageFolder directory or Hub dataset id")
	fs.StringVar(&a.split, "split", "test", "WebDataset split folder")
	fs.StringVar(&a.templates, "templates", "openai", `"openai", "names", "both" or a template file`)
	fs.StringVar(&a.classes, "classes", "", `class names file, or "imagenet" (default: the dataset's classnames.txt or folder names)`)
	fs.IntVar(&a.batch, "batch", 32, "images per model call")
	fs.IntVar(&a.workers, "workers", 0, "decoding goroutines (0: one per CPU)")
	fs.IntVar(&a.limit, "limit", 0, "evaluate only the first K samples (0: all)")
	fs.StringVar(&a.out, "out", "results.json", "results file")
	fs.BoolVar(&a.resume, "resume", false, "continue from the partial results in --out")
	fs.IntVar(&a.every, "checkpoint", 10, "write partial results every this many batches")
	fs.IntVar(&a.nconf, "confusions", 50, "confusion pairs to write")
	fs.IntVar(&a.textBatch, "text-batch", 256, "texts per text-encoder call when embedding class prompts")
	fs.StringVar(&a.classifier, "classifier", "", "use class embeddings saved by clip classify --save-classifier (or an earlier eval) instead of embedding the class prompts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) { a.templatesSet = a.templatesSet || f.Name == "templates" })
	switch {
	case fs.NArg() > 0:
		return usageError(fs, "unexpected arguments "+strings.Join(fs.Args(), " "))
	case a.ds == "":
		return usageError(fs, "--dataset is required")
	case a.batch <= 0 || a.limit < 0 || a.every <= 0 || a.workers < 0 || a.textBatch <= 0:
		return usageError(fs, "--batch, --checkpoint and --text-batch must be positive, --limit and --workers not negative")
	case !strings.HasSuffix(a.out, ".json"):
		return usageError(fs, "--out must end in .json")
	case a.classifier != "" && a.templates == "both":
		return usageError(fs, "--classifier holds one template setting; --templates both needs two")
	}
	return evalMain(ctx, a, stdout, stderr)
}

// evalMain runs an evaluation with parsed arguments.
func evalMain(ctx context.Context, a evalArgs, stdout, stderr io.Writer) error {
	if st, err := os.Stat(filepath.Dir(a.out)); err != nil || !st.IsDir() {
		return fmt.Errorf("eval: --out %s: the folder %s does not exist", a.out, filepath.Dir(a.out))
	}
	t0 := time.Now()
	d, err := dataset.Open(ctx, a.ds, &dataset.Options{Split: a.split, Hub: newHubClient(stderr)})
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if d.Kind == dataset.Images {
		return fmt.Errorf("eval: %s is a folder of unlabelled images; want a WebDataset or class sub-folders", a.ds)
	}
	names, err := evalClassNames(d, a.classes, stderr)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	settings, err := evalSettings(a.templates, d, a.out)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	var saved *clip.Classifier
	if a.classifier != "" {
		if saved, err = evalSavedClassifier(a, settings[0], names, stderr); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
	}
	total := d.Len()
	if total < 0 {
		counts, err := d.Counts(ctx)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		total = 0
		for _, c := range counts {
			total += c
		}
	}
	if a.limit > 0 {
		total = min(total, a.limit)
	}
	if a.resume {
		if err := evalRestore(settings, a.ds, a.model, len(names)); err != nil {
			return fmt.Errorf("eval: --resume: %w", err)
		}
	}

	m, dir, err := loadModel(ctx, a.model, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	proc, err := imageproc.LoadProcessor(dir)
	if err != nil {
		return err
	}
	if proc.Size() != m.ImageSize() {
		return fmt.Errorf("eval: the image processor makes %d px images, the model takes %d px", proc.Size(), m.ImageSize())
	}
	tLoad := time.Since(t0)

	t1 := time.Now()
	if saved != nil {
		if saved.Dim() != m.EmbedDim() {
			return fmt.Errorf("eval: --classifier %s has %d-dimensional class embeddings; the model %s makes %d-dimensional ones",
				a.classifier, saved.Dim(), a.model, m.EmbedDim())
		}
		if saved.Model != "" && saved.Model != a.model {
			fmt.Fprintf(stderr, "eval: warning: --classifier %s was made with the text encoder of %s, this run's model is %s\n", a.classifier, saved.Model, a.model)
		}
		settings[0].classifier = saved
	}
	for _, s := range settings {
		if s.classifier != nil {
			continue
		}
		if s.classifier, err = evalClassifier(ctx, m, s, names, a.model, a.resume, a.textBatch, stderr); err != nil {
			if errors.Is(err, context.Canceled) {
				return errors.New("eval: interrupted while embedding the class prompts")
			}
			return fmt.Errorf("eval: %w", err)
		}
	}
	tText := time.Since(t1)

	scorers := make([]evaluate.Scorer, len(settings))
	var start []*evaluate.Metrics
	for i, s := range settings {
		scorers[i] = s.classifier
		if s.start != nil {
			start = append(start, s.start)
		}
	}
	write := func(ms []*evaluate.Metrics, complete bool) error {
		for i, s := range settings {
			if err := ms[i].Results(a.ds, a.model, s.name, complete).WriteFile(s.json); err != nil {
				return err
			}
		}
		return nil
	}
	rep := evaluate.NewReporter(stderr, total)
	skipped := 0
	if start != nil {
		skipped = start[0].N
		fmt.Fprintf(stderr, "eval: resuming after %d of %d samples\n", skipped, total)
	}
	progress := rep.Update
	if a.afterBatch != nil {
		progress = func(p evaluate.Progress) { rep.Update(p); a.afterBatch(p) }
	}
	t2 := time.Now()
	ms, runErr := evaluate.Run(ctx, evaluate.Config{
		// The counts above are known to d, so a resumed run skips the
		// shards before its first sample without opening them.
		SamplesFrom: func(start int) iter.Seq2[dataset.Sample, error] { return d.SamplesFrom(ctx, start) },
		Preprocess: func(s dataset.Sample) ([]float32, error) {
			return proc.Reader(bytes.NewReader(s.Image))
		},
		Model:           m,
		Scorers:         scorers,
		NumClasses:      len(names),
		BatchSize:       a.batch,
		Workers:         a.workers,
		Start:           start,
		Limit:           a.limit,
		Progress:        progress,
		Checkpoint:      func(ms []*evaluate.Metrics) error { return write(ms, false) },
		CheckpointEvery: a.every,
	})
	rep.Finish()
	tRun := time.Since(t2)
	if ms == nil {
		return fmt.Errorf("eval: %w", runErr)
	}
	if runErr != nil {
		if ms[0].N > 0 {
			if err := write(ms, false); err != nil {
				return fmt.Errorf("eval: %v; writing partial results: %w", runErr, err)
			}
			fmt.Fprintf(stderr, "eval: stopped after %d of %d samples; partial results in %s (run again with --resume to continue)\n",
				ms[0].N, total, settings[0].json)
		}
		if errors.Is(runErr, context.Canceled) {
			return errors.New("eval: interrupted")
		}
		return fmt.Errorf("eval: %w", runErr)
	}
	if err := write(ms, true); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	var files []string
	for i, s := range settings {
		if err := evalCSVs(ms[i], s, names, a.nconf); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		files = append(files, s.json, s.base+".classes.csv", s.base+".confusions.csv")
	}
	evalReport(stdout, ms, settings, names, a.ds, a.model, files)
	n := ms[0].N - skipped
	fmt.Fprintf(stderr, "time: load %v, class embeddings %v, %d images %v (%.2f images/s)\n",
		tLoad.Round(time.Millisecond), tText.Round(time.Millisecond), n, tRun.Round(time.Millisecond), float64(n)/tRun.Seconds())
	return nil
}

// evalClassNames picks the class names: --classes, else the dataset's,
// else ImageNet's 1,000 built-in names.
func evalClassNames(d *dataset.Dataset, flag string, stderr io.Writer) ([]string, error) {
	switch {
	case flag == "imagenet":
		return clip.ImageNetClasses(), nil
	case flag != "":
		return clip.ReadList(flag)
	case len(d.Classnames) > 0:
		return d.Classnames, nil
	}
	fmt.Fprintf(stderr, "eval: the dataset has no %s; using the built-in ImageNet class names (1,000 classes)\n", dataset.ClassnamesFile)
	return clip.ImageNetClasses(), nil
}

// evalSettings resolves --templates into one or two settings with their
// output files.
func evalSettings(flag string, d *dataset.Dataset, out string) ([]*evalSetting, error) {
	openai := func() []string {
		if len(d.Templates) > 0 {
			return benchmarkTemplates(d.Templates)
		}
		return clip.ImageNetTemplates()
	}
	base := strings.TrimSuffix(out, ".json")
	one := func(name string, t []string) []*evalSetting {
		return []*evalSetting{{name: name, templates: t, json: out, base: base}}
	}
	switch flag {
	case "openai":
		return one("openai", openai()), nil
	case "names":
		return one("names", nil), nil
	case "both":
		return []*evalSetting{
			{name: "openai", templates: openai(), json: base + ".openai.json", base: base + ".openai"},
			{name: "names", json: base + ".names.json", base: base + ".names"},
		}, nil
	}
	t, err := clip.ReadList(flag)
	if err != nil {
		return nil, fmt.Errorf("--templates: %w", err)
	}
	t = benchmarkTemplates(t)
	for i, s := range t {
		if !strings.Contains(s, clip.TemplatePlaceholder) {
			return nil, fmt.Errorf("--templates %s: line %d %q has no {c} or {} placeholder", flag, i+1, s)
		}
	}
	return one(flag, t), nil
}

// benchmarkTemplates turns CLIP_benchmark's "{c}" placeholders into "{}".
func benchmarkTemplates(t []string) []string {
	out := make([]string, len(t))
	for i, s := range t {
		out[i] = strings.ReplaceAll(s, "{c}", clip.TemplatePlaceholder)
	}
	return out
}

// evalRestore reads the partial results of every setting for --resume.
func evalRestore(settings []*evalSetting, ds, model string, classes int) error {
	for _, s := range settings {
		r, err := evaluate.ReadResults(s.json)
		if err != nil {
			return err
		}
		switch {
		case r.Dataset != ds || r.Model != model || r.Templates != s.name:
			return fmt.Errorf("%s is from dataset %q, model %q, templates %q; this run is %q, %q, %q",
				s.json, r.Dataset, r.Model, r.Templates, ds, model, s.name)
		case r.Counts == nil || len(r.Counts.Support) != classes:
			return fmt.Errorf("%s does not have counts for %d classes", s.json, classes)
		}
		if s.start, err = r.Restore(); err != nil {
			return fmt.Errorf("%s: %w", s.json, err)
		}
	}
	for _, s := range settings[1:] {
		if s.start.N != settings[0].start.N {
			return fmt.Errorf("%s covers %d samples, %s %d", settings[0].json, settings[0].start.N, s.json, s.start.N)
		}
	}
	return nil
}

// evalSavedClassifier reads --classifier for the one setting, checks its
// classes against the dataset's and its templates against an explicit
// --templates, and names the setting after the classifier's templates.
// The model's dimension is checked once the model is loaded.
func evalSavedClassifier(a evalArgs, s *evalSetting, names []string, stderr io.Writer) (*clip.Classifier, error) {
	c, err := clip.LoadClassifier(a.classifier)
	if err != nil {
		return nil, fmt.Errorf("--classifier: %w", err)
	}
	if len(c.Classes) != len(names) {
		return nil, fmt.Errorf("--classifier %s has %d classes; the dataset %s has %d", a.classifier, len(c.Classes), a.ds, len(names))
	}
	for i := range names {
		if c.Classes[i] != names[i] {
			fmt.Fprintf(stderr, "eval: warning: --classifier %s names class %d %q, the dataset %q (labels are matched by index)\n",
				a.classifier, i, c.Classes[i], names[i])
			break
		}
	}
	switch {
	case a.templatesSet && !slices.Equal(c.Templates, s.templates):
		return nil, fmt.Errorf("--classifier %s was built with %d templates, not those of --templates %s (%d); leave --templates out to use the classifier's",
			a.classifier, len(c.Templates), a.templates, len(s.templates))
	case len(c.Templates) == 0:
		s.name = "names"
	case slices.Equal(c.Templates, s.templates) && s.name == "openai":
	default:
		s.name = fmt.Sprintf("classifier %s (%d templates)", filepath.Base(a.classifier), len(c.Templates))
	}
	s.templates = c.Templates
	return c, nil
}

// evalClassifier builds the zero-shot classifier of a setting, or, with
// --resume, reads the one an earlier run saved next to the results when
// it has the same classes, templates and model. A fresh classifier is
// saved there for later resumption.
func evalClassifier(ctx context.Context, m *clip.Model, s *evalSetting, names []string, model string, resume bool, batch int, stderr io.Writer) (*clip.Classifier, error) {
	path := s.base + ".classifier.safetensors"
	if resume {
		c, err := clip.LoadClassifier(path)
		if err == nil && slices.Equal(c.Classes, names) && slices.Equal(c.Templates, s.templates) &&
			c.Model == model && c.Dim() == m.EmbedDim() {
			return c, nil
		}
	}
	last, tty := time.Now(), evaluate.IsTerminal(stderr)
	c, err := clip.NewClassifier(ctx, m, names, &clip.ClassifierOptions{
		Templates: s.templates, BatchSize: batch, Model: model,
		Progress: func(done, total int) {
			switch {
			case total <= batch:
			case tty && (time.Since(last) > 100*time.Millisecond || done == total):
				last = time.Now()
				fmt.Fprintf(stderr, "\rembedding %s class prompts: %d/%d", s.name, done, total)
				if done == total {
					fmt.Fprintln(stderr)
				}
			case !tty && (time.Since(last) > 10*time.Second || done == total):
				last = time.Now()
				fmt.Fprintf(stderr, "embedding %s class prompts: %d/%d\n", s.name, done, total)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if err := c.Save(path); err != nil {
		return nil, err
	}
	return c, nil
}

// evalCSVs writes the per-class recall and confusion CSVs of a setting.
func evalCSVs(m *evaluate.Metrics, s *evalSetting, names []string, k int) error {
	write := func(path string, f func(io.Writer) error) error {
		tmp := path + ".tmp"
		fh, err := os.Create(tmp)
		if err != nil {
			return err
		}
		if err := f(fh); err != nil {
			fh.Close()
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := fh.Close(); err != nil {
			return err
		}
		return os.Rename(tmp, path)
	}
	if err := write(s.base+".classes.csv", func(w io.Writer) error { return m.WriteClassCSV(w, names) }); err != nil {
		return err
	}
	return write(s.base+".confusions.csv", func(w io.Writer) error { return m.WriteConfusionCSV(w, names, k) })
}

// evalReport prints the metrics table and the most frequent confusions.
func evalReport(w io.Writer, ms []*evaluate.Metrics, settings []*evalSetting, names []string, ds, model string, files []string) {
	fmt.Fprintf(w, "zero-shot classification: %d images, %d classes\n", ms[0].N, len(names))
	fmt.Fprintf(w, "dataset: %s\nmodel:   %s\n\n", ds, model)
	fmt.Fprintf(w, "%-22s %8s %8s %22s\n", "templates", "acc1", "acc5", "mean per-class recall")
	for i, s := range settings {
		label := s.name
		if len(s.templates) > 0 {
			label += fmt.Sprintf(" (%d)", len(s.templates))
		}
		m := ms[i]
		fmt.Fprintf(w, "%-22s %7.2f%% %7.2f%% %21.2f%%\n", label, 100*m.Acc1(), 100*m.Acc5(), 100*m.MeanPerClassRecall())
	}
	if top := ms[0].TopConfusions(5); len(top) > 0 {
		fmt.Fprintf(w, "\nmost frequent confusions (%s):\n", settings[0].name)
		for _, c := range top {
			fmt.Fprintf(w, "  %4d  %s → %s\n", c.Count, names[c.Label], names[c.Predicted])
		}
	}
	fmt.Fprintf(w, "\nwrote %s\n", strings.Join(files, ", "))
}
