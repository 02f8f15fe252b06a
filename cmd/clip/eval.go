package main

import (
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
	"github.com/goclip/goclip/cmd/clip/internal/pixblock"
	"github.com/goclip/goclip/dataset"
	"github.com/goclip/goclip/evaluate"
)

const evalUsage = `usage: clip eval --model M --dataset D [--templates openai|names|both|FILE | --classifier FILE] [--batch 32] [--limit K] [--out results.json] [--resume]

Zero-shot classification accuracy on a whole dataset, as LAION's
CLIP_benchmark reports it: top-1, top-5 and mean per-class recall (these
rank the classes, so they are the same whether the model's probabilities
are CLIP's softmax or SigLIP's per-class sigmoid; the results file records
which, as "probabilities", with SigLIP's "logit_bias"). D is a
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
dataset's and its dimension the model's. Class embeddings are also kept
in the classifier cache shared with clip classify (see clip help
classify; --no-cache: neither read nor written).

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
	precision                                 clip.Precision // --precision
	model, ds, split, templates, classes, out string
	batch, workers, limit, every, nconf       int
	textBatch                                 int
	resume, noCache, skipBad                  bool
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
	a, err := parseEval(args, stdout)
	if err != nil {
		return err
	}
	return evalMain(ctx, *a, stdout, stderr)
}

// parseEval parses the command line.
func parseEval(args []string, stdout io.Writer) (*evalArgs, error) {
	fs := newCmdFlags("eval", evalUsage)
	a := &evalArgs{}
	fs.StringVar(&a.model, "model", defaultModel, "model folder or Hugging Face Hub id")
	precisionVar(fs.FlagSet, &a.precision)
	fs.StringVar(&a.ds, "dataset", "", "WebDataset folder, .tar shard, ImageFolder directory or Hub dataset id")
	fs.StringVar(&a.split, "split", "test", "WebDataset split folder")
	fs.StringVar(&a.templates, "templates", "openai", `"openai", "names", "both" or a template file`)
	fs.StringVar(&a.classes, "classes", "", `class names file, or "imagenet" (default: the dataset's classnames.txt or folder names)`)
	fs.IntVar(&a.batch, "batch", 32, "images per model call")
	fs.IntVar(&a.workers, "workers", 0, "decoding goroutines (0: one per CPU)")
	fs.IntVar(&a.limit, "limit", 0, "evaluate only the first K samples (0: all); the dataset is then not counted first")
	fs.StringVar(&a.out, "out", "results.json", "results file")
	fs.BoolVar(&a.resume, "resume", false, "continue from the partial results in --out")
	fs.BoolVar(&a.skipBad, "skip-bad", false, "count images that cannot be decoded as bad (named on stderr, \"bad\" in the results) and go on, instead of stopping")
	fs.BoolVar(&a.noCache, "no-cache", false, "neither read nor write the classifier cache (see clip help classify)")
	fs.IntVar(&a.every, "checkpoint", 10, "write partial results every this many batches")
	fs.IntVar(&a.nconf, "confusions", 50, "confusion pairs to write")
	fs.IntVar(&a.textBatch, "text-batch", 256, "texts per text-encoder call when embedding class prompts")
	fs.StringVar(&a.classifier, "classifier", "", "use class embeddings saved by clip classify --save-classifier (or an earlier eval) instead of embedding the class prompts")
	rest, err := fs.parse(args, stdout)
	if err != nil {
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { a.templatesSet = a.templatesSet || f.Name == "templates" })
	switch {
	case len(rest) > 0:
		return nil, fs.usage("unexpected arguments %s", strings.Join(rest, " "))
	case a.ds == "":
		return nil, fs.usage("--dataset is required")
	case a.batch <= 0 || a.limit < 0 || a.every <= 0 || a.workers < 0 || a.textBatch <= 0:
		return nil, fs.usage("--batch, --checkpoint and --text-batch must be positive, --limit and --workers not negative")
	case !strings.HasSuffix(a.out, ".json"):
		return nil, fs.usage("--out must end in .json")
	case a.classifier != "" && a.templates == "both":
		return nil, fs.usage("--classifier holds one template setting; --templates both needs two")
	}
	return a, nil
}

// evalJob is an evaluation prepared by evalPrepare: the dataset, its class
// names, the template settings and the sample count.
type evalJob struct {
	d        *dataset.Dataset
	names    []string
	settings []*evalSetting
	saved    *clip.Classifier // --classifier
	total    int              // samples the run reaches
	modelDir string           // the model's local folder (the classifier cache key)
}

// evalMain runs an evaluation with parsed arguments: everything that can
// fail cheaply (dataset, class names, templates, --classifier, --resume)
// first, then the model, the class embeddings and the run.
func evalMain(ctx context.Context, a evalArgs, stdout, stderr io.Writer) error {
	t0 := time.Now()
	unlock, err := lockOutput(a.out)
	if err != nil {
		return err
	}
	defer unlock()
	job, err := evalPrepare(ctx, a, stderr)
	if err != nil {
		return err
	}
	if job.modelDir, err = resolveModel(ctx, a.model, stderr); err != nil {
		return err
	}
	m, err := openModel(job.modelDir, a.precision, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	pm := pixblock.New(m, nil)
	tLoad := time.Since(t0)
	t1 := time.Now()
	if err := evalClassifiers(ctx, m, a, job, stderr); err != nil {
		return err
	}
	tText := time.Since(t1)
	t2 := time.Now()
	ms, skipped, err := evalRun(ctx, pm, func(s dataset.Sample) ([]float32, error) {
		return pm.Encoded(s.Image)
	}, a, job, stderr)
	if err != nil {
		return err
	}
	tRun := time.Since(t2)
	if err := evalWrite(stdout, ms, a, job); err != nil {
		return err
	}
	n := ms[0].N - skipped
	fmt.Fprintf(stderr, "time: load %v, class embeddings %v, %d images %v (%.2f images/s)\n",
		tLoad.Round(time.Millisecond), tText.Round(time.Millisecond), n, tRun.Round(time.Millisecond), float64(n)/tRun.Seconds())
	return nil
}

// evalPrepare opens the dataset and resolves the class names, template
// settings, --classifier and --resume, before the model is loaded. With
// --limit (and no --resume) the dataset is not counted: the run stops at
// the limit or at the dataset's end, whichever comes first.
func evalPrepare(ctx context.Context, a evalArgs, stderr io.Writer) (*evalJob, error) {
	if st, err := os.Stat(filepath.Dir(a.out)); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("--out %s: the folder %s does not exist", a.out, filepath.Dir(a.out))
	}
	d, err := openDataset(ctx, a.ds, a.split, stderr)
	if err != nil {
		return nil, err
	}
	if d.Kind == dataset.Images {
		return nil, fmt.Errorf("%s is a folder of unlabelled images; want a WebDataset or class sub-folders", a.ds)
	}
	job := &evalJob{d: d}
	if job.names, err = evalClassNames(d, a.classes, stderr); err != nil {
		return nil, err
	}
	if job.settings, err = evalSettings(a.templates, d, a.out); err != nil {
		return nil, err
	}
	if a.classifier != "" {
		if job.saved, err = evalSavedClassifier(a, job.settings[0], job.names, stderr); err != nil {
			return nil, err
		}
	}
	job.total = d.Len()
	if job.total < 0 && (a.limit == 0 || a.resume) {
		counts, err := d.Counts(ctx)
		if err != nil {
			return nil, err
		}
		job.total = 0
		for _, c := range counts {
			job.total += c
		}
	}
	if a.limit > 0 && (job.total < 0 || a.limit < job.total) {
		job.total = a.limit
	}
	if a.resume {
		if err := evalRestore(job.settings, a.ds, a.model, len(job.names)); err != nil {
			return nil, fmt.Errorf("--resume: %w", err)
		}
	}
	return job, nil
}

// evalClassifiers gives every setting its classifier: --classifier, or
// the class prompts embedded (or, with --resume, the saved ones).
func evalClassifiers(ctx context.Context, m *clip.Model, a evalArgs, job *evalJob, stderr io.Writer) error {
	if job.saved != nil {
		if job.saved.Dim() != m.EmbedDim() {
			return fmt.Errorf("--classifier %s has %d-dimensional class embeddings; the model %s makes %d-dimensional ones",
				a.classifier, job.saved.Dim(), a.model, m.EmbedDim())
		}
		if job.saved.Model != "" && job.saved.Model != a.model {
			fmt.Fprintf(stderr, "eval: warning: --classifier %s was made with the text encoder of %s, this run's model is %s\n", a.classifier, job.saved.Model, a.model)
		}
		job.settings[0].classifier = job.saved
	}
	for _, s := range job.settings {
		if s.classifier != nil {
			continue
		}
		var err error
		if s.classifier, err = evalClassifier(ctx, m, s, job, a, stderr); err != nil {
			if errors.Is(err, context.Canceled) {
				return errors.New("interrupted while embedding the class prompts")
			}
			return err
		}
	}
	return nil
}

// evalRun classifies the dataset's images, writing partial results every
// --checkpoint batches and when stopped (Ctrl-C, a bad sample). It returns
// the metrics of every setting and the samples a resumed run skipped.
func evalRun(ctx context.Context, m evaluate.ImageEmbedder, preprocess func(dataset.Sample) ([]float32, error), a evalArgs, job *evalJob, stderr io.Writer) ([]*evaluate.Metrics, int, error) {
	scorers := make([]evaluate.Scorer, len(job.settings))
	var start []*evaluate.Metrics
	for i, s := range job.settings {
		scorers[i] = s.classifier
		if s.start != nil {
			start = append(start, s.start)
		}
	}
	rep := evaluate.NewReporter(stderr, job.total)
	skipped := 0
	if start != nil {
		skipped = start[0].N
		fmt.Fprintf(stderr, "eval: resuming after %d of %d samples\n", skipped, job.total)
	}
	progress := rep.Update
	if a.afterBatch != nil {
		progress = func(p evaluate.Progress) { rep.Update(p); a.afterBatch(p) }
	}
	ms, runErr := evaluate.Run(ctx, &evaluate.Config{
		// The counts above are known to d, so a resumed run skips the
		// shards before its first sample without opening them.
		Samples:         func(start int) iter.Seq2[dataset.Sample, error] { return job.d.SamplesFrom(ctx, start) },
		Preprocess:      preprocess,
		Model:           m,
		Scorers:         scorers,
		NumClasses:      len(job.names),
		BatchSize:       a.batch,
		Workers:         a.workers,
		Start:           start,
		Limit:           a.limit,
		Progress:        progress,
		Checkpoint:      func(ms []*evaluate.Metrics) error { return evalWriteResults(ms, a, job, false) },
		CheckpointEvery: a.every,
		SkipBad:         a.skipBad,
		BadSample:       func(err error) { fmt.Fprintf(stderr, "eval: skipped: %v\n", err) },
	})
	rep.Finish()
	if ms == nil {
		return nil, 0, runErr
	}
	if runErr != nil {
		if ms[0].N > 0 {
			if err := evalWriteResults(ms, a, job, false); err != nil {
				return nil, 0, fmt.Errorf("%v; writing partial results: %w", runErr, err)
			}
			fmt.Fprintf(stderr, "eval: stopped after %d of %d samples; partial results in %s (run again with --resume to continue)\n",
				ms[0].N, job.total, job.settings[0].json)
		}
		if errors.Is(runErr, context.Canceled) {
			return nil, 0, errors.New("interrupted")
		}
		return nil, 0, runErr
	}
	return ms, skipped, nil
}

// evalWriteResults writes the results JSON of every setting.
func evalWriteResults(ms []*evaluate.Metrics, a evalArgs, job *evalJob, complete bool) error {
	for i, s := range job.settings {
		r := ms[i].Results(a.ds, a.model, s.name, complete)
		if c := s.classifier; c != nil {
			r.Probabilities = c.ProbabilityKind()
			if c.Sigmoid {
				bias := c.Bias
				r.LogitBias = &bias
			}
		}
		if err := r.WriteFile(s.json); err != nil {
			return err
		}
	}
	return nil
}

// evalWrite writes the final results and CSVs and prints the report.
func evalWrite(stdout io.Writer, ms []*evaluate.Metrics, a evalArgs, job *evalJob) error {
	if err := evalWriteResults(ms, a, job, true); err != nil {
		return err
	}
	var files []string
	for i, s := range job.settings {
		if err := evalCSVs(ms[i], s, job.names, a.nconf); err != nil {
			return err
		}
		files = append(files, s.json, s.base+".classes.csv", s.base+".confusions.csv")
	}
	evalReport(stdout, ms, job.settings, job.names, a.ds, a.model, files)
	return nil
}

// evalClassNames picks the class names: --classes, else the dataset's,
// else ImageNet's 1,000 built-in names.
func evalClassNames(d *dataset.Dataset, flag string, stderr io.Writer) ([]string, error) {
	switch {
	case flag == "imagenet":
		return clip.ImageNetClasses(), nil
	case flag != "":
		return readList(flag)
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
	t, err := readList(flag)
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

// evalClassifier returns the zero-shot classifier of a setting: with
// --resume the one an earlier run saved next to the results when it has
// the same classes, templates and model; else the user cache's (see
// classifierFor) or a fresh one. It is saved next to the results for a
// later --resume.
func evalClassifier(ctx context.Context, m *clip.Model, s *evalSetting, job *evalJob, a evalArgs, stderr io.Writer) (*clip.Classifier, error) {
	path := s.base + ".classifier.safetensors"
	if a.resume {
		c, err := clip.LoadClassifier(path)
		if err == nil && slices.Equal(c.Classes, job.names) && slices.Equal(c.Templates, s.templates) &&
			c.Model == a.model && c.Dim() == m.EmbedDim() {
			return c, nil
		}
	}
	c, err := classifierFor(ctx, m, job.modelDir, job.names, s.templates, a.textBatch, a.model, "embedding "+s.name+" class prompts", !a.noCache, stderr)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, c.Write); err != nil {
		return nil, err
	}
	return c, nil
}

// evalCSVs writes the per-class recall and confusion CSVs of a setting.
func evalCSVs(m *evaluate.Metrics, s *evalSetting, names []string, k int) error {
	if err := writeFileAtomic(s.base+".classes.csv", func(w io.Writer) error { return m.WriteClassCSV(w, names) }); err != nil {
		return err
	}
	return writeFileAtomic(s.base+".confusions.csv", func(w io.Writer) error { return m.WriteConfusionCSV(w, names, k) })
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
