package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/goclip/goclip/internal/term"
)

// progress shows how far a long step is, with its rate and the time left:
// on a terminal one line redrawn in place (at most every 100 ms); on a
// file or pipe a line at every tenth of the work, so a log gets about ten.
type progress struct {
	w          io.Writer
	label      string // "embedding class prompts"
	unit       string // "texts"
	total      int
	tty        bool
	now        func() time.Time // time.Now; tests set it
	start      time.Time
	last       time.Time
	lastTenth  int
	lastLen    int
	terminated bool
}

func newProgress(w io.Writer, label, unit string, total int) *progress {
	p := &progress{w: w, label: label, unit: unit, total: total, tty: term.IsTerminal(w), now: time.Now}
	p.start = p.now()
	return p
}

// update reports that done of total items are finished.
func (p *progress) update(done int) {
	if p.total <= 0 || p.terminated {
		return
	}
	now := p.now()
	final := done >= p.total
	if p.tty {
		if !final && now.Sub(p.last) < 100*time.Millisecond {
			return
		}
		p.last = now
		line := p.line(done, now)
		fmt.Fprint(p.w, "\r"+line+strings.Repeat(" ", max(0, p.lastLen-len(line))))
		p.lastLen = len(line)
		if final {
			fmt.Fprintln(p.w)
			p.terminated = true
		}
		return
	}
	tenth := 10 * done / p.total
	if tenth <= p.lastTenth {
		return
	}
	p.lastTenth = tenth
	fmt.Fprintln(p.w, p.line(done, now))
	p.terminated = final
}

// line formats "label  45%  36000/80000  243.1 texts/s  ETA 3m1s" (the
// elapsed time instead of the ETA once done).
func (p *progress) line(done int, now time.Time) string {
	el := now.Sub(p.start)
	rate := 0.0
	if s := el.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	s := fmt.Sprintf("%s %3d%%  %d/%d  %.1f %s/s", p.label, 100*done/p.total, done, p.total, rate, p.unit)
	switch {
	case done >= p.total:
		s += "  " + el.Round(time.Second).String()
	case rate > 0:
		eta := time.Duration(float64(p.total-done) / rate * float64(time.Second))
		s += "  ETA " + eta.Round(time.Second).String()
	}
	return s
}
