package heatmap

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSaveNeverTruncates: while Save renders and writes a new heatmap, the
// file at the path is at every moment the previous complete PNG or the new
// one, and nothing else is left in the folder. Save used to create the
// file first (truncating the good heatmap) and write it after rendering:
// a SIGKILL in between left a 33-byte PNG.
func TestSaveNeverTruncates(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "similarity.png")
	if err := Save(p, sample(4, 4), nil); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(p)
	done := make(chan error, 1)
	go func() { done <- Save(p, sample(120, 120), nil) }()
	bad := 0
	for polling := true; polling; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			polling = false
		default:
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, old) {
			if _, derr := png.Decode(bytes.NewReader(b)); err != nil || derr != nil {
				bad++
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
	if bad > 0 {
		t.Errorf("%d reads during Save saw a missing or partial file", bad)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("folder holds %v", ents)
	}
}
