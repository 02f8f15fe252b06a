// Package dataset reads image classification datasets without unpacking
// them: WebDataset tar shards (as CLIP_benchmark's wds_* datasets on the
// Hugging Face Hub: {split}/nshards.txt, {split}/0.tar …, classnames.txt,
// zeroshot_classification_templates.txt), ImageFolder-style directories
// (class/xxx.jpg) and plain folders of images. It returns encoded image
// bytes with their labels; decoding is done elsewhere.
package dataset

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/goclip/goclip/hub"
)

// Kind is the layout of a dataset.
type Kind string

// Dataset layouts.
const (
	WebDataset  Kind = "webdataset"  // tar shards of key.{webp,png,jpg,jpeg} + key.cls
	ImageFolder Kind = "imagefolder" // root/<class>/<image>, classes sorted by name
	Images      Kind = "images"      // root/<image>, unlabelled
)

// File names CLIP_benchmark uses at a WebDataset's root.
const (
	ClassnamesFile = "classnames.txt"
	TemplatesFile  = "zeroshot_classification_templates.txt"
)

// Options configure Open. A nil *Options means the defaults.
type Options struct {
	// Split is the WebDataset sub-folder holding the shards; "test" when empty.
	Split string
	// Hub resolves Hub dataset ids; nil means hub.New(nil) (the
	// environment's HF_* settings).
	Hub *hub.Client
	// MaxImageBytes bounds one image; DefaultMaxImageBytes when zero.
	MaxImageBytes int64
}

// Dataset is an opened dataset. Its methods may be called concurrently.
type Dataset struct {
	Kind Kind
	// Classnames are the class names by label index: classnames.txt when
	// present (one per line), else the ImageFolder class folder names.
	Classnames []string
	// Templates are the prompt templates of
	// zeroshot_classification_templates.txt ("a photo of a {c}."), if any.
	Templates []string

	shards   []shard
	files    []imageFile
	maxBytes int64

	countMu sync.Mutex
	counts  map[int]int // shard index → sample count, once a pass has reached the shard's end
	// openFile opens a local shard file; nil means os.Open (tests count
	// the bytes read through it).
	openFile func(string) (io.ReadSeekCloser, error)
}

type shard struct {
	name string
	// open returns a local path, downloading the shard first if needed.
	open func(ctx context.Context) (string, error)
}

type imageFile struct {
	path, key, format string
	label             int
}

var imageFileExts = map[string]string{
	".jpg": "jpg", ".jpeg": "jpeg", ".png": "png", ".webp": "webp",
	".gif": "gif", ".bmp": "bmp", ".tif": "tiff", ".tiff": "tiff",
}

// Open opens a dataset by local path or Hub dataset id:
//   - a .tar file: one WebDataset shard;
//   - a directory with nshards.txt or .tar files, directly or in the split
//     sub-folder: a WebDataset (shards 0.tar … nshards-1.tar, or every
//     .tar in numeric order); classnames.txt and the templates file are
//     read from the directory and the split folder;
//   - a directory of class sub-directories with images: an ImageFolder
//     (classnames.txt, when it has one line per class, replaces the
//     folder names as class names);
//   - a directory of images: unlabelled images;
//   - otherwise, a string shaped "org/name" or "org/name@revision" (a
//     branch, tag or commit, as hub.ParseRepoSpec reads model ids): a Hub
//     dataset repo, found in the Hugging Face cache or downloaded into it
//     (shards lazily, when first read). Every file comes from one commit:
//     the one the revision (default "main") names when the dataset is
//     opened.
func Open(ctx context.Context, ref string, opts *Options) (*Dataset, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Split == "" {
		o.Split = "test"
	}
	if o.MaxImageBytes <= 0 {
		o.MaxImageBytes = DefaultMaxImageBytes
	}
	st, err := os.Stat(ref)
	switch {
	case err == nil && !st.IsDir():
		if !strings.HasSuffix(strings.ToLower(ref), ".tar") {
			return nil, fmt.Errorf("dataset: %s is a file but not a .tar shard", ref)
		}
		d := &Dataset{Kind: WebDataset, maxBytes: o.MaxImageBytes}
		d.shards = []shard{localShard(ref)}
		return d, d.readTexts(filepath.Dir(ref))
	case err == nil:
		return openDir(ref, o)
	case errors.Is(err, fs.ErrNotExist):
		repo, ok := hub.ParseRepoSpec(ref, hub.Dataset)
		if !ok {
			return nil, fmt.Errorf("dataset: %w, and %q is not a Hub dataset id (org/name[@revision])", err, ref)
		}
		return openHub(ctx, repo, o)
	default:
		return nil, fmt.Errorf("dataset: %w", err)
	}
}

func localShard(p string) shard {
	return shard{name: p, open: func(context.Context) (string, error) { return p, nil }}
}

func openDir(root string, o Options) (*Dataset, error) {
	d := &Dataset{maxBytes: o.MaxImageBytes}
	for _, dir := range []string{filepath.Join(root, o.Split), root} {
		names, err := localShardNames(dir)
		if err != nil {
			return nil, err
		}
		if names == nil {
			continue
		}
		d.Kind = WebDataset
		for _, n := range names {
			d.shards = append(d.shards, localShard(filepath.Join(dir, n)))
		}
		if err := d.readTexts(root); err != nil {
			return nil, err
		}
		if dir != root && (d.Classnames == nil || d.Templates == nil) {
			names, templates := d.Classnames, d.Templates
			if err := d.readTexts(dir); err != nil {
				return nil, err
			}
			if names != nil {
				d.Classnames = names
			}
			if templates != nil {
				d.Templates = templates
			}
		}
		return d, nil
	}
	if err := d.readTexts(root); err != nil {
		return nil, err
	}
	return d, d.scanFolder(root)
}

// localShardNames returns the shard file names of dir: 0.tar…n-1.tar from
// nshards.txt, else every .tar file in numeric-then-lexical order, else nil.
func localShardNames(dir string) ([]string, error) {
	if b, err := os.ReadFile(filepath.Join(dir, "nshards.txt")); err == nil {
		n, err := parseNShards(b)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s: %w", filepath.Join(dir, "nshards.txt"), err)
		}
		return numberedShards("", n), nil
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(strings.ToLower(e.Name()), ".tar") {
			names = append(names, e.Name())
		}
	}
	sortShardNames(names)
	return names, nil
}

// maxShards bounds nshards.txt against a corrupt or hostile value.
const maxShards = 1 << 20

func parseNShards(b []byte) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 || n > maxShards {
		return 0, fmt.Errorf("nshards.txt holds %q, want a shard count in 1..%d", strings.TrimSpace(string(b)), maxShards)
	}
	return n, nil
}

func numberedShards(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i) + ".tar"
	}
	return out
}

// sortShardNames orders "2.tar" before "10.tar": names whose stem is a
// number sort numerically, before the others, which sort lexically.
func sortShardNames(names []string) {
	num := func(s string) (int, bool) {
		n, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(s), ".tar"))
		return n, err == nil
	}
	sort.SliceStable(names, func(i, j int) bool {
		a, aok := num(names[i])
		b, bok := num(names[j])
		switch {
		case aok && bok && a != b:
			return a < b
		case aok != bok:
			return aok
		}
		return names[i] < names[j]
	})
}

// readTexts loads classnames.txt and the templates file from dir when they
// exist.
func (d *Dataset) readTexts(dir string) error {
	var err error
	if d.Classnames, err = readLinesIfExists(filepath.Join(dir, ClassnamesFile)); err != nil {
		return err
	}
	d.Templates, err = readLinesIfExists(filepath.Join(dir, TemplatesFile))
	return err
}

func readLinesIfExists(p string) ([]string, error) {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	lines, err := ReadLines(f)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", p, err)
	}
	return lines, nil
}

// ReadLines reads one entry per line, as CLIP_benchmark reads
// classnames.txt and the templates file: trailing "\r" and spaces
// trimmed, empty lines dropped.
func ReadLines(r interface{ Read([]byte) (int, error) }) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

// scanFolder fills an ImageFolder (class sub-directories, sorted, each
// walked recursively in lexical order, as torchvision) or a plain folder.
func (d *Dataset) scanFolder(root string) error {
	ents, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	var classes []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			classes = append(classes, e.Name())
		}
	}
	for _, e := range ents {
		if f, ok := imageEntry(root, e.Name(), -1); ok && !e.IsDir() {
			d.files = append(d.files, f)
		}
	}
	if len(d.files) > 0 || len(classes) == 0 {
		d.Kind = Images
		if len(d.files) == 0 {
			return fmt.Errorf("dataset: %s has no images, class folders or .tar shards", root)
		}
		return nil
	}
	d.Kind = ImageFolder
	for label, c := range classes {
		err := filepath.WalkDir(filepath.Join(root, c), func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			if f, ok := imageEntry(root, rel, label); ok {
				d.files = append(d.files, f)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
	}
	if len(d.files) == 0 {
		return fmt.Errorf("dataset: %s: no images in the class folders", root)
	}
	if len(d.Classnames) != len(classes) {
		d.Classnames = classes
	}
	return nil
}

func imageEntry(root, rel string, label int) (imageFile, bool) {
	format, ok := imageFileExts[strings.ToLower(filepath.Ext(rel))]
	if !ok {
		return imageFile{}, false
	}
	return imageFile{path: filepath.Join(root, rel), key: filepath.ToSlash(rel), format: format, label: label}, true
}

// openHub resolves a Hub dataset repo at repo.Revision ("" is main): the
// text files now, which pins the commit, the shards from that same commit
// when they are read.
func openHub(ctx context.Context, repo hub.Repo, o Options) (*Dataset, error) {
	c := o.Hub
	if c == nil {
		c = hub.New(nil)
	}
	id := repo.ID
	if repo.Revision != "" {
		id += "@" + repo.Revision
	}
	nshards := o.Split + "/nshards.txt"
	dir, err := c.Snapshot(ctx, repo, nil, []string{nshards, ClassnamesFile, TemplatesFile})
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", id, err)
	}
	repo.Revision = filepath.Base(dir) // the commit: every shard from the same one
	d := &Dataset{Kind: WebDataset, maxBytes: o.MaxImageBytes}
	if err := d.readTexts(dir); err != nil {
		return nil, err
	}
	var names []string
	if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(nshards))); err == nil {
		n, err := parseNShards(b)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s %s: %w", id, nshards, err)
		}
		names = numberedShards(o.Split+"/", n)
	} else {
		ents, err := c.ListFiles(ctx, repo, o.Split, false)
		if err != nil {
			return nil, fmt.Errorf("dataset: %s: no %s and listing %s/ failed: %w", id, nshards, o.Split, err)
		}
		for _, e := range ents {
			if e.Type == "file" && strings.HasSuffix(strings.ToLower(e.Path), ".tar") {
				names = append(names, e.Path)
			}
		}
		sortShardNames(names)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("dataset: %s: no .tar shards in %s/", id, o.Split)
	}
	for _, n := range names {
		d.shards = append(d.shards, shard{name: repo.ID + "/" + n, open: func(ctx context.Context) (string, error) {
			return c.Download(ctx, repo, n)
		}})
	}
	return d, nil
}

// Shards returns the shard names of a WebDataset (local paths, or
// "org/name/test/0.tar" for Hub datasets).
func (d *Dataset) Shards() []string {
	out := make([]string, len(d.shards))
	for i, s := range d.shards {
		out[i] = s.name
	}
	return out
}

// Len returns the number of samples of a folder dataset without reading
// images; for a WebDataset it is -1 (use Count).
func (d *Dataset) Len() int {
	if d.Kind == WebDataset {
		return -1
	}
	return len(d.files)
}

// rngFor is the sampling generator: PCG seeded with (seed, seed).
func rngFor(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }
