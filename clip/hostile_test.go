//go:build unix

package clip

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goclip/goclip/internal/safefile"
)

// loadWithin runs Load in a goroutine and fails the test if it has not
// returned within d (a FIFO made the loader block forever).
func loadWithin(t *testing.T, dir string, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		m, err := Load(dir, nil)
		if m != nil {
			m.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("Load(%s) still blocked after %v", dir, d)
		return nil
	}
}

// TestLoadRefusesSpecialFiles: model-folder files that are FIFOs, devices
// or links to them are refused at once with an error naming the file
// (ErrNotRegular). Before, a weights link to /dev/zero was read until the
// machine ran out of memory (the mmap loader's fallback used os.ReadFile),
// and a FIFO as weights or config.json blocked Load forever.
func TestLoadRefusesSpecialFiles(t *testing.T) {
	for _, tc := range []struct{ file, kind string }{
		{"model.safetensors", "devzero"},
		{"model.safetensors", "fifo"},
		{"config.json", "fifo"},
		{"config.json", "devzero"},
		{"preprocessor_config.json", "fifo"},
		{"tokenizer.json", "fifo"},
		{"vocab.json", "devzero"},
		{"model.safetensors", "dir"},
	} {
		t.Run(tc.file+"-"+tc.kind, func(t *testing.T) {
			dir := tinyDir(t)
			p := filepath.Join(dir, tc.file)
			os.Remove(p)
			var err error
			switch tc.kind {
			case "devzero":
				err = os.Symlink("/dev/zero", p)
			case "fifo":
				err = syscall.Mkfifo(p, 0o644)
			case "dir":
				err = os.Mkdir(p, 0o755)
			}
			if err != nil {
				t.Skipf("cannot make a %s here: %v", tc.kind, err)
			}
			if tc.file == "vocab.json" { // vocab.json is read when tokenizer.json is absent
				os.Remove(filepath.Join(dir, "tokenizer.json"))
				os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\n"), 0o644)
			}
			err = loadWithin(t, dir, 10*time.Second)
			if !errors.Is(err, safefile.ErrNotRegular) {
				t.Fatalf("got %v, want ErrNotRegular", err)
			}
			if !strings.Contains(err.Error(), tc.file) {
				t.Errorf("error does not name %s: %v", tc.file, err)
			}
		})
	}
}

// TestLoadRefusesHugeConfig: a config.json over safefile.MaxConfigBytes
// (valid JSON padded with spaces) is refused by size, not parsed.
func TestLoadRefusesHugeConfig(t *testing.T) {
	dir := tinyDir(t)
	p := filepath.Join(dir, "config.json")
	good, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	huge := append([]byte(strings.Repeat(" ", safefile.MaxConfigBytes)), good...)
	if err := os.WriteFile(p, huge, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := loadWithin(t, dir, 30*time.Second); !errors.Is(err, safefile.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}
