package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/atomicfile"
)

// TestEvalOutLocked: a second `clip eval` with the --out of a running one
// stops at once with an error saying so (it used to run, collide on the
// fixed temporary file and then claim to have saved partial results).
func TestEvalOutLocked(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	unlock, err := atomicfile.Lock(out + ".lock") // the first run
	if err != nil {
		t.Skip(err)
	}
	defer unlock()
	err = run(context.Background(), []string{"eval", "--model", "no/such-model", "--dataset", t.TempDir(), "--out", out}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "another run is writing it") {
		t.Fatalf("got %v, want the lock error", err)
	}
}

// TestSimilaritySampleCapped: --sample above maxSimilaritySample is a
// usage error before anything is opened (it had no cap).
func TestSimilaritySampleCapped(t *testing.T) {
	err := run(context.Background(), []string{"similarity", "--dataset", t.TempDir(), "--sample", "1001"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "at most 1000") {
		t.Fatalf("got %v, want the --sample limit", err)
	}
}
