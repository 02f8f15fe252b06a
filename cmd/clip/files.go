package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/goclip/goclip/dataset"
	"github.com/goclip/goclip/internal/atomicfile"
)

// maxListLine is the longest line readList accepts (1 MiB; a CLIP text is
// 77 tokens).
const maxListLine = 1 << 20

// readList reads a text file the way every command takes texts, class
// names and templates: one entry per line with surrounding white space
// (and a Windows "\r") removed and blank lines skipped — or, for a file
// named *.jsonl, one JSON string per line, kept exactly. An empty list is
// an error naming the file.
func readList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	if strings.EqualFold(filepath.Ext(path), ".jsonl") {
		out, err = parseJSONLines(f, path)
	} else if out, err = dataset.ReadLines(f); err != nil {
		err = fmt.Errorf("%s: %w", path, err)
	}
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no entries (want one per line)", path)
	}
	return out, nil
}

// parseJSONLines reads one JSON string per non-empty line; errors name the
// file and line.
func parseJSONLines(r io.Reader, name string) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxListLine)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s:%d: want a JSON string (the file is .jsonl): %v", name, line, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s: a line is longer than %d bytes", name, maxListLine)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// writeFileAtomic writes a file with mode 0644 through a temporary file in
// the same folder renamed over path, so a reader never sees a partial
// file and a failed write leaves no file behind.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, write)
}

// lockOutput takes the lock OUT.lock for a run that writes OUT and its
// companion files (eval's R.json, R.classes.csv, ...), so that two runs
// with the same --out fail clearly instead of overwriting each other's
// partial results. The lock dies with the process, even on SIGKILL.
func lockOutput(out string) (unlock func(), err error) {
	unlock, err = atomicfile.Lock(out + ".lock")
	if errors.Is(err, atomicfile.ErrLocked) {
		return nil, fmt.Errorf("--out %s: another run is writing it (%s.lock is held); wait for it or choose another --out", out, out)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("--out %s: the folder %s does not exist", out, filepath.Dir(out))
	}
	if err != nil {
		return nil, fmt.Errorf("--out %s: %w", out, err)
	}
	return unlock, nil
}
