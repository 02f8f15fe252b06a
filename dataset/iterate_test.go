package dataset

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// readCounter wraps shard files and counts the bytes read from each, so a
// test can tell which image bytes were read.
type readCounter struct {
	mu     sync.Mutex
	bytes  map[string]int64
	opened map[string]int
}

func newReadCounter() *readCounter {
	return &readCounter{bytes: map[string]int64{}, opened: map[string]int{}}
}

func (c *readCounter) open(p string) (io.ReadSeekCloser, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.opened[filepath.Base(p)]++
	c.mu.Unlock()
	return &countedFile{f, c, filepath.Base(p)}, nil
}

func (c *readCounter) reset() {
	c.mu.Lock()
	clear(c.bytes)
	clear(c.opened)
	c.mu.Unlock()
}

type countedFile struct {
	*os.File
	c    *readCounter
	name string
}

func (f *countedFile) Read(b []byte) (int, error) {
	n, err := f.File.Read(b)
	f.c.mu.Lock()
	f.c.bytes[f.name] += int64(n)
	f.c.mu.Unlock()
	return n, err
}

// bigShards writes a WebDataset whose samples carry payloadBytes-long
// images (bytes of value i, so each is recognisable; the dataset package
// does not decode them).
func bigShards(t *testing.T, root string, sizes []int, payload int) {
	os.MkdirAll(filepath.Join(root, "test"), 0o755)
	first := 0
	for k, n := range sizes {
		var ms []member
		for i := first; i < first+n; i++ {
			key := fmt.Sprintf("s%07d", i)
			ms = append(ms, member{key + ".webp", bytes.Repeat([]byte{byte(i)}, payload)}, member{key + ".cls", []byte(fmt.Sprint(i % 7))})
		}
		os.WriteFile(filepath.Join(root, "test", fmt.Sprintf("%d.tar", k)), tarBytes(t, ms), 0o644)
		first += n
	}
	os.WriteFile(filepath.Join(root, "test", "nshards.txt"), []byte(fmt.Sprint(len(sizes))), 0o644)
}

func collectFrom(t *testing.T, d *Dataset, start int) []Sample {
	t.Helper()
	var out []Sample
	for s, err := range d.SamplesFrom(context.Background(), start) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestSamplesFrom checks that SamplesFrom(k) is Samples with its first k
// samples left out, for every k, with shard counts unknown and known, and
// that the samples it leaves out have their image bytes not read: whole
// shards not opened once counted, and only tar headers read otherwise.
func TestSamplesFrom(t *testing.T) {
	const payload = 20000 // bytes per image: far more than a shard's headers
	sizes := []int{4, 3, 5, 1, 4}
	total := 17
	root := t.TempDir()
	bigShards(t, root, sizes, payload)
	ctx := context.Background()
	d, err := Open(ctx, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := collect(t, d)
	if len(all) != total {
		t.Fatalf("%d samples, want %d", len(all), total)
	}
	same := func(got, want []Sample) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i].Key != want[i].Key || got[i].Label != want[i].Label || !bytes.Equal(got[i].Image, want[i].Image) {
				return false
			}
		}
		return true
	}
	for _, known := range []bool{false, true} {
		for k := 0; k <= total+2; k++ {
			d, _ := Open(ctx, root, nil)
			if known {
				if _, err := d.Counts(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if got := collectFrom(t, d, k); !same(got, all[min(k, total):]) {
				t.Errorf("counts known %v: SamplesFrom(%d) gave %d samples, want the last %d of Samples", known, k, len(got), total-min(k, total))
			}
		}
	}
	for _, err := range d.SamplesFrom(ctx, -1) {
		if err == nil {
			t.Error("SamplesFrom(-1) gave a sample")
		}
		break
	}

	// Start at sample 9: shards 0 and 1 (7 samples) are skipped whole,
	// samples 0 and 1 of shard 2 are seeked over.
	const start = 9
	headerBound := func(samples int) int64 {
		// Per member (two a sample): its 512-byte header, the last byte
		// of its content (archive/tar seeks to it and reads it) and its
		// padding to 512 bytes, which archive/tar reads (at most 511
		// bytes); then the two end-of-archive blocks.
		return int64(samples)*2*(512+1+511) + 2*512
	}
	for _, known := range []bool{false, true} {
		rc := newReadCounter()
		d, _ := Open(ctx, root, nil)
		d.openFile = rc.open
		if known {
			if _, err := d.Counts(ctx); err != nil {
				t.Fatal(err)
			}
			rc.reset()
		}
		if got := collectFrom(t, d, start); !same(got, all[start:]) {
			t.Fatalf("counts known %v: SamplesFrom(%d) differs from Samples", known, start)
		}
		for k, name := range []string{"0.tar", "1.tar"} {
			switch {
			case known && rc.opened[name] != 0:
				t.Errorf("counts known: shard %s opened %d times", name, rc.opened[name])
			case !known && rc.bytes[name] > headerBound(sizes[k]):
				t.Errorf("counts unknown: %d bytes read from skipped shard %s, want at most %d (headers)", rc.bytes[name], name, headerBound(sizes[k]))
			}
		}
		// Shard 2: 3 of its 5 images read, not the 2 before sample 9.
		readImages := int64(3 * payload)
		if b := rc.bytes["2.tar"]; b < readImages || b > readImages+3*16+headerBound(5) {
			t.Errorf("counts known %v: %d bytes read from shard 2.tar, want the 3 wanted images (%d) and headers", known, b, readImages)
		}
	}

	// Folders: the file list is cut.
	dir := t.TempDir()
	for i, f := range []string{"a/1.png", "a/2.png", "b/3.png"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), pngBytes(t, i), 0o644)
	}
	fd, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	fall := collect(t, fd)
	for k := 0; k <= 4; k++ {
		if got := collectFrom(t, fd, k); !same(got, fall[min(k, 3):]) {
			t.Errorf("folder: SamplesFrom(%d) gave %d samples", k, len(got))
		}
	}
}
