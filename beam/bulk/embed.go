package bulk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/dataset"
)

// Beam metrics (namespace "goclip").
var (
	imagesEmbedded = beam.NewCounter("goclip", "images_embedded")
	textsEmbedded  = beam.NewCounter("goclip", "texts_embedded")
	badSkipped     = beam.NewCounter("goclip", "bad_files_skipped")
	bytesRead      = beam.NewCounter("goclip", "bytes_read")
	partsWritten   = beam.NewCounter("goclip", "parts_written")

	// Where a part's wall-clock time goes, in milliseconds (the engine
	// overhead is what the process spends outside them; see
	// tools/beam_scaling.sh): per batch, decoding + preprocessing and the
	// image tower; per part, the wait for a --workers slot, the text tower
	// and the writes; per DoFn instance, Setup (model load or cache hit).
	decodeMs = beam.NewDistribution("goclip", "decode_ms")
	imageMs  = beam.NewDistribution("goclip", "image_tower_ms")
	slotMs   = beam.NewDistribution("goclip", "slot_wait_ms")
	textMs   = beam.NewDistribution("goclip", "text_tower_ms")
	writeMs  = beam.NewDistribution("goclip", "write_ms")
	setupMs  = beam.NewDistribution("goclip", "setup_ms")
)

// msSince is the milliseconds since t, for the distributions above.
func msSince(t time.Time) int64 { return time.Since(t).Milliseconds() }

// PartResult is what embedding one part produced.
type PartResult struct {
	Index  int
	Images int      // rows written (images embedded)
	Texts  int      // captions embedded (0 when the part has no text_emb file)
	Bytes  int64    // encoded bytes read
	Bad    []string // "image_path: reason" of every sample skipped
}

// maxSidecarBytes bounds a folder image's caption or metadata file.
const maxSidecarBytes = 1 << 20

// embedFn embeds whole parts. Its exported fields are its configuration
// (Beam serialises them into the pipeline); the model is loaded in Setup,
// once per worker process (see acquireModel), and memory-mapped.
type embedFn struct {
	Model     string // local model folder
	Precision string
	Dataset   string // dataset reference, opened by every worker
	Split     string
	Output    string
	Batch     int
	Workers   int    // parts embedded at once per process
	Float32   bool   // float32 .npy instead of clip-retrieval's float16
	NoText    bool   // skip captions
	Captions  string // captions file (one line per image, see captions.go); "" for none
	// FailPart and FailMarker inject one failure for the fault-tolerance
	// test: the first attempt at part FailPart (while FailMarker does not
	// exist) creates FailMarker, writes that part's image file and fails.
	FailPart   int
	FailMarker string

	// Setup starts the load (model, dataset listing) in the background
	// and returns at once; ProcessElement waits for ready. A Setup that
	// blocks for the model's load makes the runner's early split requests
	// find no active bundle (the Go SDK answers them with "no split", and
	// Prism then never splits that bundle again): all parts of a bundle
	// would run one after the other, whatever --workers says.
	ready   chan struct{}
	loadErr error
	loadMs  int64 // reported once, from the first ProcessElement
	sm      *sharedModel
	ds      *dataset.Dataset
}

func (f *embedFn) Setup(ctx context.Context) error {
	f.ready = make(chan struct{})
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer close(f.ready)
		t0 := time.Now()
		sm, err := acquireModel(f.Model, f.Precision, f.Batch, f.Workers)
		if err != nil {
			f.loadErr = err
			return
		}
		var ds *dataset.Dataset
		if !IsBeamPath(f.Dataset) {
			if ds, err = OpenDataset(ctx, f.Dataset, f.Split); err != nil {
				sm.release()
				f.loadErr = err
				return
			}
		}
		f.sm, f.ds, f.loadMs = sm, ds, max(msSince(t0), 0)+1
	}()
	return nil
}

// loaded waits for Setup's load.
func (f *embedFn) loaded(ctx context.Context) error {
	select {
	case <-f.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	if f.loadMs > 0 {
		setupMs.Update(ctx, f.loadMs-1)
		f.loadMs = 0
	}
	return f.loadErr
}

func (f *embedFn) Teardown() error {
	if f.ready == nil {
		return nil
	}
	<-f.ready
	if f.sm == nil {
		return nil
	}
	err := f.sm.release()
	f.sm = nil
	return err
}

// partData accumulates one part's rows.
type partData struct {
	img      [][]float32
	rows     []row
	captions []string
	lines    []string // the part's lines of the captions file, when given
	res      PartResult
}

func (f *embedFn) ProcessElement(ctx context.Context, p Part, emit func(PartResult)) error {
	if err := f.loaded(ctx); err != nil {
		return err
	}
	t0 := time.Now()
	f.sm.slots <- struct{}{}
	defer func() { <-f.sm.slots }()
	slotMs.Update(ctx, msSince(t0))
	d := &partData{res: PartResult{Index: p.Index}}
	if f.Captions != "" {
		lines, err := partCaptions(ctx, f.Captions, p.Start, p.Count)
		if err != nil {
			return err
		}
		d.lines = lines
	}
	batch := make([]dataset.Sample, 0, max(f.Batch, 1))
	flush := func() error {
		err := f.embedBatch(ctx, batch, d)
		batch = batch[:0]
		return err
	}
	err := f.samples(ctx, p, d, func(s dataset.Sample) error {
		if batch = append(batch, s); len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("bulk: part %d: %w", p.Index, err)
	}
	if err := f.write(ctx, p, d); err != nil {
		return fmt.Errorf("bulk: part %d: %w", p.Index, err)
	}
	imagesEmbedded.Inc(ctx, int64(d.res.Images))
	textsEmbedded.Inc(ctx, int64(d.res.Texts))
	badSkipped.Inc(ctx, int64(len(d.res.Bad)))
	bytesRead.Inc(ctx, d.res.Bytes)
	partsWritten.Inc(ctx, 1)
	emit(d.res)
	return nil
}

// samples calls fn for every sample of the part, in order. Unreadable
// files and a shard that ends in a malformed sample are recorded as bad,
// not returned: only fn's errors and the context's stop the part.
func (f *embedFn) samples(ctx context.Context, p Part, d *partData, fn func(dataset.Sample) error) error {
	if len(p.Files) > 0 {
		return f.fileSamples(ctx, p, d, fn)
	}
	if p.Shard >= 0 {
		path, err := f.ds.ShardPath(ctx, p.Shard)
		if err != nil {
			d.res.Bad = append(d.res.Bad, fmt.Sprintf("shard %d: %v", p.Shard, err))
			return nil
		}
		fh, err := os.Open(path)
		if err != nil {
			d.res.Bad = append(d.res.Bad, fmt.Sprintf("%s: %v", path, err))
			return nil
		}
		defer fh.Close()
		return f.shardSamples(ctx, fh, path, d, fn)
	}
	for i := p.Start; i < p.Start+p.Count; {
		next := i
		for s, err := range f.ds.SamplesFrom(ctx, i) {
			next++
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				d.res.Bad = append(d.res.Bad, err.Error())
				break // restart after the unreadable file
			}
			d.res.Bytes += int64(len(s.Image))
			s.Text, s.JSON = sidecar(s.Source, "txt"), []byte(sidecar(s.Source, "json"))
			if d.lines != nil {
				s.Text = d.lines[next-1-p.Start]
			}
			if err := fn(s); err != nil {
				return err
			}
			if next >= p.Start+p.Count {
				break
			}
		}
		if next == i {
			break // nothing more
		}
		i = next
	}
	return nil
}

// shardSamples calls fn for every sample of a WebDataset shard; a shard
// that ends in a malformed sample is recorded as bad.
func (f *embedFn) shardSamples(ctx context.Context, r io.Reader, name string, d *partData, fn func(dataset.Sample) error) error {
	cr := &countReader{r: r}
	var fnErr error
	err := dataset.ReadShard(ctx, cr, name, func(s dataset.Sample) error {
		fnErr = fn(s)
		return fnErr
	})
	d.res.Bytes += cr.n
	switch {
	case fnErr != nil:
		return fnErr
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		d.res.Bad = append(d.res.Bad, err.Error())
	}
	return nil
}

// sidecar reads the caption (txt) or metadata (json) file next to a
// folder image: the same path with the extension replaced, as
// clip-retrieval's files reader pairs them; "" when absent or too big.
func sidecar(image, ext string) string {
	p := strings.TrimSuffix(image, filepath.Ext(image)) + "." + ext
	fh, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxSidecarBytes+1))
	if err != nil || len(b) > maxSidecarBytes {
		return ""
	}
	return string(b)
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// embedBatch decodes and preprocesses the batch in parallel, embeds the
// images that decoded and records the others as bad.
func (f *embedFn) embedBatch(ctx context.Context, batch []dataset.Sample, d *partData) error {
	if len(batch) == 0 {
		return nil
	}
	e := f.sm.e
	t0 := time.Now()
	px := make([][]float32, len(batch))
	errs := make([]error, len(batch))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(batch)) {
		wg.Go(func() {
			for i := range next {
				px[i], errs[i] = e.pixels(batch[i].Image)
			}
		})
	}
	for i := range batch {
		next <- i
	}
	close(next)
	wg.Wait()
	decodeMs.Update(ctx, msSince(t0))
	s := e.size()
	flat := make([]float32, 0, len(batch)*3*s*s)
	var good []dataset.Sample
	for i, smp := range batch {
		path := imagePath(smp)
		if errs[i] != nil {
			d.res.Bad = append(d.res.Bad, path+": "+errs[i].Error())
			continue
		}
		meta, err := parseMeta(smp.JSON)
		if err != nil {
			d.res.Bad = append(d.res.Bad, path+": "+err.Error())
			continue
		}
		flat = append(flat, px[i]...)
		good = append(good, smp)
		r := row{ImagePath: path, Meta: meta}
		if smp.Text != "" {
			c := smp.Text
			r.Caption = &c
		}
		d.rows = append(d.rows, r)
		d.captions = append(d.captions, smp.Text)
	}
	if len(good) == 0 {
		return nil
	}
	t1 := time.Now()
	emb, err := e.images(ctx, flat)
	if err != nil {
		return err
	}
	imageMs.Update(ctx, msSince(t1))
	clip.Normalize(emb)
	d.img = append(d.img, emb...)
	d.res.Images += len(emb)
	return nil
}

// imagePath is clip-retrieval's image_path: the WebDataset key, or the
// image file's path.
func imagePath(s dataset.Sample) string {
	if strings.HasSuffix(strings.ToLower(s.Source), ".tar") {
		return s.Key
	}
	return s.Source
}

// write embeds the captions (when the part has any) and writes the part's
// files. A part without any good image writes nothing, as clip-retrieval.
func (f *embedFn) write(ctx context.Context, p Part, d *partData) error {
	if d.res.Images == 0 {
		return nil
	}
	txt, err := f.embedCaptions(ctx, d.captions)
	if err != nil {
		return err
	}
	t0 := time.Now()
	imgPath, textPath, metaPath := PartFiles(f.Output, p.Index, p.Parts)
	imgNpy, err := npyBytes(d.img, f.sm.e.dim(), !f.Float32)
	if err != nil {
		return err
	}
	if err := writeFile(ctx, imgPath, imgNpy); err != nil {
		return err
	}
	if f.FailMarker != "" && f.FailPart == p.Index {
		if _, err := os.Stat(f.FailMarker); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(f.FailMarker, nil, 0o644); err != nil {
				return err
			}
			return errors.New("injected failure after writing the image embeddings")
		}
	}
	if txt != nil {
		b, err := npyBytes(txt, f.sm.e.dim(), !f.Float32)
		if err != nil {
			return err
		}
		if err := writeFile(ctx, textPath, b); err != nil {
			return err
		}
		d.res.Texts = len(txt)
	}
	meta, err := metadataParquet(d.rows, txt != nil)
	if err != nil {
		return err
	}
	if err := writeFile(ctx, metaPath, meta); err != nil {
		return err
	}
	writeMs.Update(ctx, msSince(t0))
	return nil
}

// embedCaptions embeds the part's captions, normalised, in batches; nil
// when no sample of the part has one (or captions are off).
func (f *embedFn) embedCaptions(ctx context.Context, captions []string) ([][]float32, error) {
	withText := false
	for _, c := range captions {
		withText = withText || c != ""
	}
	if !withText || f.NoText {
		return nil, nil
	}
	t0 := time.Now()
	b := max(f.Batch, 1)
	var txt [][]float32
	for i := 0; i < len(captions); i += b {
		t, err := f.sm.e.texts(ctx, captions[i:min(i+b, len(captions))])
		if err != nil {
			return nil, err
		}
		txt = append(txt, t...)
	}
	clip.Normalize(txt)
	textMs.Update(ctx, msSince(t0))
	return txt, nil
}
