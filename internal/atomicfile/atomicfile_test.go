package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// TestConcurrentWriters: many writers of one path at once (two `clip eval`
// runs with the same --out did this with a fixed "r.json.tmp") all
// succeed, the file is always one whole version, and no temporary file is
// left.
func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.json")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 8 {
				data := bytes.Repeat([]byte{byte('a' + i)}, 10_000+j)
				if err := WriteFile(p, data); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || len(b) < 10_000 || !bytes.Equal(b, bytes.Repeat(b[:1], len(b))) {
		t.Errorf("final file is not one whole version (%d bytes, %v)", len(b), err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != Perm {
		t.Errorf("mode %v", st.Mode())
	}
}

// TestFailedWriteKeepsOld: an error from the writer leaves the previous
// file and no temporary file.
func TestFailedWriteKeepsOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "heat.png")
	os.WriteFile(p, []byte("old"), 0o644)
	err := Write(p, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return fmt.Errorf("killed")
	})
	if err == nil {
		t.Fatal("no error")
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("destination is %q", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
	if !IsTemp(".heat.png.tmp-123") || IsTemp("heat.png") {
		t.Error("IsTemp")
	}
}

func TestLock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock")
	}
	p := filepath.Join(t.TempDir(), "r.json.lock")
	unlock, err := Lock(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(p); !errors.Is(err, ErrLocked) {
		t.Errorf("second Lock: %v, want ErrLocked", err)
	}
	unlock()
	unlock2, err := Lock(p)
	if err != nil {
		t.Errorf("after unlock: %v", err)
	} else {
		unlock2()
	}
}
