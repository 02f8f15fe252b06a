package hub

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress reports how far a download is. Done counts bytes already in the
// partial file, so a resumed download starts above zero.
type Progress struct {
	File  string // repo file name
	Done  int64  // bytes on disk so far
	Total int64  // expected size, -1 when unknown
}

// ProgressFunc receives download progress. It is called often (every
// received chunk) from the downloading goroutine; it must be quick.
type ProgressFunc func(Progress)

// NewProgressBar returns a ProgressFunc that draws a one-line bar
// ("model.safetensors  45% [=========>          ] 270.1/605.2 MB") on w,
// redrawn with a carriage return at most every 100 ms and finished with a
// newline when a file completes. Use it only when w is a terminal.
func NewProgressBar(w io.Writer) ProgressFunc {
	var mu sync.Mutex
	var last time.Time
	var lastFile string
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		done := p.Total >= 0 && p.Done >= p.Total
		now := time.Now()
		if !done && p.File == lastFile && now.Sub(last) < 100*time.Millisecond {
			return
		}
		if done && p.File == "" {
			return
		}
		last, lastFile = now, p.File
		fmt.Fprint(w, "\r"+barLine(p))
		if done {
			fmt.Fprintln(w)
			lastFile = "" // the next report of any file redraws
		}
	}
}

func barLine(p Progress) string {
	name := p.File
	if len(name) > 32 {
		name = "…" + name[len(name)-31:]
	}
	if p.Total <= 0 {
		return fmt.Sprintf("%-32s %s", name, humanBytes(p.Done))
	}
	frac := float64(p.Done) / float64(p.Total)
	if frac > 1 {
		frac = 1
	}
	const width = 30
	fill := int(frac * width)
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	return fmt.Sprintf("%-32s %3.0f%% [%s] %s/%s", name, 100*frac, bar, humanBytes(p.Done), humanBytes(p.Total))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
