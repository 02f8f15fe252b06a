package evaluate

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/goclip/goclip/internal/term"
)

// Reporter prints the progress of a run: on a terminal, one line redrawn
// in place (a bar, images/s, ETA and the running accuracy); elsewhere
// (a log file, a pipe) a plain line every Interval.
type Reporter struct {
	W        io.Writer
	Terminal bool          // redraw one line with "\r"
	Total    int           // samples the run will reach, if known (0: unknown)
	Interval time.Duration // between plain lines (default 10s); the terminal line is redrawn at most every 100 ms
	Label    string        // prefix, e.g. "eval"

	last    time.Time
	lastLen int
}

// NewReporter returns a reporter for w, in terminal mode when w is one.
func NewReporter(w io.Writer, total int) *Reporter {
	return &Reporter{W: w, Terminal: term.IsTerminal(w), Total: total, Label: "eval"}
}

// Update is a Config.Progress function.
func (r *Reporter) Update(p Progress) {
	now := time.Now()
	final := r.Total > 0 && p.Done >= r.Total
	every := r.Interval
	if every <= 0 {
		every = 10 * time.Second
	}
	if r.Terminal {
		every = 100 * time.Millisecond
	}
	if !final && !r.last.IsZero() && now.Sub(r.last) < every {
		return
	}
	if r.last.IsZero() && !r.Terminal && !final && p.Elapsed < every {
		// plain mode: the first line after one interval, not after batch one
		return
	}
	r.last = now
	line := r.Line(p)
	if r.Terminal {
		pad := ""
		if n := r.lastLen - len(line); n > 0 {
			pad = strings.Repeat(" ", n)
		}
		r.lastLen = len(line)
		fmt.Fprint(r.W, "\r"+line+pad)
		return
	}
	fmt.Fprintln(r.W, line)
}

// Finish ends the terminal line (call it once after the run).
func (r *Reporter) Finish() {
	if r.Terminal && r.lastLen > 0 {
		fmt.Fprintln(r.W)
		r.lastLen = 0
	}
}

// Line formats one progress line:
//
//	eval [##########----------]  50%  5000/10000  41.3 img/s  ETA 2m01s  acc1 55.12%  acc5 83.40%
func (r *Reporter) Line(p Progress) string {
	var b strings.Builder
	b.WriteString(r.Label)
	fresh := p.Done - p.Skipped
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(fresh) / s
	}
	if r.Total > 0 {
		frac := min(1, float64(p.Done)/float64(r.Total))
		if r.Terminal {
			const width = 24
			k := int(frac * width)
			b.WriteString(" [" + strings.Repeat("#", k) + strings.Repeat("-", width-k) + "]")
		}
		fmt.Fprintf(&b, " %3.0f%%  %d/%d", 100*frac, p.Done, r.Total)
	} else {
		fmt.Fprintf(&b, " %d", p.Done)
	}
	fmt.Fprintf(&b, "  %.1f img/s", rate)
	if r.Total > 0 && rate > 0 && p.Done < r.Total {
		eta := time.Duration(float64(r.Total-p.Done) / rate * float64(time.Second))
		fmt.Fprintf(&b, "  ETA %s", formatDuration(eta))
	} else if r.Total == 0 || p.Done >= r.Total {
		fmt.Fprintf(&b, "  %s", formatDuration(p.Elapsed))
	}
	if m := p.Metrics; m != nil && m.N > 0 {
		fmt.Fprintf(&b, "  acc1 %.2f%%  acc5 %.2f%%", 100*m.Acc1(), 100*m.Acc5())
	}
	return b.String()
}

// formatDuration prints 1h02m03s, 2m01s or 12s.
func formatDuration(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	switch {
	case s >= 3600:
		return fmt.Sprintf("%dh%02dm%02ds", s/3600, s/60%60, s%60)
	case s >= 60:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%ds", s)
}
