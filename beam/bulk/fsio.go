package bulk

import (
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	// The file systems an input or output may name: local paths and globs,
	// memfs:// (tests, one process) and gs:// (Dataflow).
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"

	"github.com/goclip/goclip/dataset"
)

// FileRef is one image of a part read through a Beam file system, with
// the caption (.txt) and metadata (.json) files of the same name, "" when
// the listing has none.
type FileRef struct {
	Image, Text, JSON string
}

// IsBeamPath reports whether an input is read through Beam's file
// systems: a path with a scheme (gs://bucket/dir, memfs://dir) or a glob
// (/data/shards/*.tar). Plain local paths and Hub ids go through
// dataset.Open (which knows the CLIP_benchmark and ImageFolder layouts).
func IsBeamPath(ref string) bool {
	return hasScheme(ref) || strings.ContainsAny(ref, "*?[")
}

func hasScheme(p string) bool {
	i := strings.Index(p, "://")
	return i > 0 && !strings.ContainsAny(p[:i], "/\\.")
}

// joinPath joins an output folder and a relative name: with "/" for
// scheme paths (gs://b/out/img_emb/...), with the OS separator otherwise.
func joinPath(dir string, elem ...string) string {
	if hasScheme(dir) {
		return strings.TrimSuffix(dir, "/") + "/" + path.Join(elem...)
	}
	return localJoin(dir, elem...)
}

// ListFiles lists a Beam file system input into parts. ref is a folder
// (every file in it, not recursive) or a glob. When the listing holds
// .tar files and no images, each shard is one part (WebDataset, members
// as ReadShard reads them); otherwise the images (by extension, sorted by
// path) are split into parts of partSize (DefaultPartSize when <= 0), each
// with its sidecar name.txt / name.json when listed.
func ListFiles(ctx context.Context, ref string, partSize int) ([]Part, error) {
	fs, err := filesystem.New(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("bulk: %w", err)
	}
	defer fs.Close()
	glob := ref
	if !strings.ContainsAny(ref, "*?[") {
		glob = strings.TrimSuffix(ref, "/") + "/*"
	}
	files, err := fs.List(ctx, glob)
	if err != nil {
		return nil, fmt.Errorf("bulk: listing %s: %w", glob, err)
	}
	sort.Strings(files)
	listed := map[string]bool{}
	var tars, images []string
	for _, f := range files {
		listed[f] = true
		switch ext := strings.ToLower(path.Ext(f)); {
		case ext == ".tar":
			tars = append(tars, f)
		case imageExt[ext]:
			images = append(images, f)
		}
	}
	var parts []Part
	if len(images) == 0 {
		for i, t := range tars {
			parts = append(parts, Part{Index: i, Shard: i, Files: []FileRef{{Image: t}}})
		}
	}
	if partSize <= 0 {
		partSize = DefaultPartSize
	}
	for start := 0; start < len(images); start += partSize {
		p := Part{Index: len(parts), Shard: -1, Start: start}
		for _, im := range images[start:min(start+partSize, len(images))] {
			p.Files = append(p.Files, FileRef{Image: im, Text: sibling(im, "txt", listed), JSON: sibling(im, "json", listed)})
		}
		p.Count = len(p.Files)
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("bulk: %s: no .tar shards or images", glob)
	}
	for i := range parts {
		parts[i].Parts = len(parts)
	}
	return parts, nil
}

var imageExt = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".webp": true,
	".gif": true, ".bmp": true, ".tif": true, ".tiff": true}

func sibling(image, ext string, listed map[string]bool) string {
	s := strings.TrimSuffix(image, path.Ext(image)) + "." + ext
	if listed[s] {
		return s
	}
	return ""
}

// fileSamples calls fn for every sample of a part listed by ListFiles.
func (f *embedFn) fileSamples(ctx context.Context, p Part, d *partData, fn func(dataset.Sample) error) error {
	fs, err := filesystem.New(ctx, p.Files[0].Image)
	if err != nil {
		return err
	}
	defer fs.Close()
	if p.Shard >= 0 {
		name := p.Files[0].Image
		r, err := fs.OpenRead(ctx, name)
		if err != nil {
			d.res.Bad = append(d.res.Bad, fmt.Sprintf("%s: %v", name, err))
			return nil
		}
		defer r.Close()
		return f.shardSamples(ctx, r, name, d, fn)
	}
	for j, ref := range p.Files {
		img, err := readBounded(ctx, fs, ref.Image, dataset.DefaultMaxImageBytes)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d.res.Bad = append(d.res.Bad, fmt.Sprintf("%s: %v", ref.Image, err))
			continue
		}
		d.res.Bytes += int64(len(img))
		s := dataset.Sample{Key: ref.Image, Image: img, Label: -1, Source: ref.Image,
			Format: strings.TrimPrefix(strings.ToLower(path.Ext(ref.Image)), ".")}
		if ref.Text != "" {
			b, _ := readBounded(ctx, fs, ref.Text, maxSidecarBytes)
			s.Text = string(b)
		}
		if ref.JSON != "" {
			s.JSON, _ = readBounded(ctx, fs, ref.JSON, maxSidecarBytes)
		}
		if d.lines != nil {
			s.Text = d.lines[j]
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}

// readBounded reads a whole file of at most limit bytes.
func readBounded(ctx context.Context, fs filesystem.Interface, name string, limit int64) ([]byte, error) {
	r, err := fs.OpenRead(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

// writeFile writes a part file: local paths atomically with a temporary
// file and a rename (writeAtomic); other file systems through Beam's
// OpenWrite, whose objects appear whole when the writer is closed (gcs,
// memfs), so a retried or re-run part replaces its file and no reader
// sees half of one.
func writeFile(ctx context.Context, name string, data []byte) error {
	if !hasScheme(name) {
		return writeAtomic(name, data)
	}
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	defer fs.Close()
	if err := filesystem.Write(ctx, fs, name, data); err != nil {
		return fmt.Errorf("bulk: writing %s: %w", name, err)
	}
	return nil
}

// ReadFile reads a file of the output (local or a Beam file system).
func ReadFile(ctx context.Context, name string) ([]byte, error) {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("bulk: %w", err)
	}
	defer fs.Close()
	b, err := filesystem.Read(ctx, fs, name)
	if err != nil {
		return nil, fmt.Errorf("bulk: %w", err)
	}
	return b, nil
}
