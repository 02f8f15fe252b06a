package evaluate

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func progressAt(done, skipped int, elapsed time.Duration) Progress {
	m, _ := NewMetrics(10)
	for i := range done {
		s := make([]float32, 10)
		s[i%10] = 1 // label i%4: a hit when i%10 == i%4, i.e. i%10 < 4
		m.Add(i%4, s)
	}
	return Progress{Done: done, Skipped: skipped, Elapsed: elapsed, Metrics: m}
}

func TestReporterLine(t *testing.T) {
	r := &Reporter{Terminal: true, Total: 1000, Label: "eval"}
	p := progressAt(250, 50, 10*time.Second) // 200 new images in 10 s: 20 img/s, 750 left: 37.5 s
	got := r.Line(p)
	for _, want := range []string{"eval [######------------------]", " 25%", "250/1000", "20.0 img/s", "ETA 38s",
		fmt.Sprintf("acc1 %.2f%%", 100*p.Metrics.Acc1()), fmt.Sprintf("acc5 %.2f%%", 100*p.Metrics.Acc5())} {
		if !strings.Contains(got, want) {
			t.Errorf("line %q lacks %q", got, want)
		}
	}
	r.Terminal = false
	if got := r.Line(p); strings.Contains(got, "[") || !strings.Contains(got, "250/1000") {
		t.Errorf("plain line %q", got)
	}
	r.Total = 0 // unknown total: count and elapsed time, no ETA
	if got := r.Line(p); strings.Contains(got, "ETA") || !strings.Contains(got, "eval 250") || !strings.Contains(got, "10s") {
		t.Errorf("line without total %q", got)
	}
}

func TestReporterModes(t *testing.T) {
	var b bytes.Buffer
	r := &Reporter{W: &b, Terminal: true, Total: 100, Label: "eval"}
	r.Update(progressAt(10, 0, time.Second))
	r.Update(progressAt(100, 0, 2*time.Second)) // the final line is always drawn
	r.Finish()
	s := b.String()
	if strings.Count(s, "\r") != 2 || !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		t.Errorf("terminal output %q: want two redraws of one line, then a newline", s)
	}

	b.Reset()
	r = &Reporter{W: &b, Total: 100, Label: "eval", Interval: time.Hour}
	r.Update(progressAt(10, 0, time.Second)) // before the first interval: silent
	r.Update(progressAt(100, 0, 2*time.Second))
	r.Finish()
	if s := b.String(); strings.Contains(s, "\r") || strings.Count(s, "\n") != 1 || !strings.Contains(s, "100/100") {
		t.Errorf("plain output %q: want only the final line", s)
	}
}
