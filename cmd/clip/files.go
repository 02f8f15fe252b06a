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
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = write(f)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
