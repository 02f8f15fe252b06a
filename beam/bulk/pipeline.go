// Package bulk is goclip's bulk embedding pipeline on Apache Beam: it
// embeds every image (and caption) of a dataset and writes
// clip-retrieval's output layout,
//
//	OUT/img_emb/img_emb_{i}.npy       normalised image embeddings [n,d], float16 (or float32)
//	OUT/text_emb/text_emb_{i}.npy     normalised caption embeddings [n,d], when the part has captions
//	OUT/metadata/metadata_{i}.parquet image_path, caption, and the samples' .json fields
//	OUT/summary.json                  counts and every skipped file (goclip's addition)
//
// one part i per WebDataset shard or per range of a folder's files, row r
// of the three files being the same sample. Part files have fixed names
// and are written atomically, and their bytes depend on the input only,
// so a retried bundle or a re-run overwrites a part with the same bytes:
// nothing is duplicated or lost.
package bulk

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn3x1[context.Context, Part, func(PartResult), error](&embedFn{})
	register.Emitter1[PartResult]()
	register.Function1x2(keyResult)
	register.DoFn3x1[int, func(*PartResult) bool, func(Summary), error](&summaryFn{})
	register.Iter1[PartResult]()
	register.Emitter1[Summary]()
}

// Options configure the pipeline. Model must be a local model folder
// (resolve Hub ids first, with hub.ResolveModel).
type Options struct {
	Model     string
	Precision string // model weights: "" or "f32" (the parity path), "bf16", "int8" (clip.Precision)
	Dataset   string // what dataset.Open takes (folder, .tar, WebDataset root, Hub id), or a Beam file system path (IsBeamPath)
	Split     string // WebDataset split folder ("test" when empty)
	Output    string // local folder or Beam file system path (gs://bucket/out)
	Batch     int    // images per forward pass; 32 when 0
	Workers   int    // parts embedded at once per worker process; 1 when 0
	Float32   bool   // write float32 embeddings (default float16, as clip-retrieval)
	NoText    bool   // do not embed captions
	Captions  string // one caption per line for a folder input's images, in order (see captions.go)

	// FailPart and FailMarker inject one failure (tests): see embedFn.
	FailPart   int
	FailMarker string
}

// Summary is the end-of-run account, written to OUT/summary.json.
type Summary struct {
	Parts  int      `json:"parts"`
	Images int      `json:"images"`
	Texts  int      `json:"texts"`
	Bytes  int64    `json:"bytes_read"`
	Bad    []string `json:"bad"` // sorted
}

// SummaryFile is the summary's name in the output folder.
const SummaryFile = "summary.json"

// Build adds the pipeline to s: the parts are reshuffled (so the runner
// can spread them over workers and split them between bundles), embedded
// and written part by part, and the results gathered into the summary.
func Build(s beam.Scope, parts []Part, o Options) beam.PCollection {
	s = s.Scope("goclip.bulk")
	batch := o.Batch
	if batch <= 0 {
		batch = 32
	}
	col := beam.CreateList(s, parts)
	col = beam.Reshuffle(s, col)
	results := beam.ParDo(s, &embedFn{
		Model: o.Model, Precision: o.Precision, Dataset: o.Dataset, Split: o.Split, Output: o.Output,
		Batch: batch, Workers: max(o.Workers, 1), Float32: o.Float32, NoText: o.NoText,
		Captions: o.Captions, FailPart: o.FailPart, FailMarker: o.FailMarker,
	}, col)
	keyed := beam.ParDo(s, keyResult, results)
	return beam.ParDo(s, &summaryFn{Output: o.Output}, beam.GroupByKey(s, keyed))
}

func keyResult(r PartResult) (int, PartResult) { return 0, r }

type summaryFn struct{ Output string }

func (f *summaryFn) ProcessElement(_ int, results func(*PartResult) bool, emit func(Summary)) error {
	var sum Summary
	sum.Bad = []string{}
	var r PartResult
	for results(&r) {
		sum.Parts++
		sum.Images += r.Images
		sum.Texts += r.Texts
		sum.Bytes += r.Bytes
		sum.Bad = append(sum.Bad, r.Bad...)
	}
	sort.Strings(sum.Bad)
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(context.Background(), joinPath(f.Output, SummaryFile), append(b, '\n')); err != nil {
		return err
	}
	emit(sum)
	return nil
}

// ReadSummary reads OUT/summary.json (OUT local or on a Beam file system).
func ReadSummary(ctx context.Context, out string) (*Summary, error) {
	b, err := ReadFile(ctx, joinPath(out, SummaryFile))
	if err != nil {
		return nil, err
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("bulk: %s: %w", SummaryFile, err)
	}
	return &s, nil
}
