package evaluate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/goclip/goclip/dataset"
)

// TestRunSkipBad: with SkipBad, undecodable samples (a whole batch of them
// included) are counted as Bad, reported in order, and not scored; the
// good samples give the counts of a run over them alone; the counts
// survive a results file and a resume.
func TestRunSkipBad(t *testing.T) {
	bad := map[string]bool{"s0000003": true, "s0000019": true}
	for i := 24; i < 32; i++ { // one whole batch of 8
		bad[keyOf(i)] = true
	}
	cfg := fakeConfig(40)
	cfg.BatchSize = 8
	cfg.SkipBad = true
	var reported []int
	cfg.BadSample = func(err error) {
		var se *SampleError
		if errors.As(err, &se) {
			reported = append(reported, se.Index)
		}
	}
	cfg.Preprocess = func(s dataset.Sample) ([]float32, error) {
		if bad[s.Key] {
			return nil, errors.New("corrupt")
		}
		return fakePreprocess(s)
	}
	ms, err := Run(context.Background(), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := ms[0]
	if m.N != 40 || m.Bad != len(bad) {
		t.Fatalf("N %d Bad %d, want 40 and %d", m.N, m.Bad, len(bad))
	}
	if len(reported) != len(bad) || reported[0] != 3 || reported[1] != 19 {
		t.Errorf("reported %v", reported)
	}
	// The reference: the good samples added one by one.
	want, _ := NewMetrics(cfg.NumClasses)
	for i := 0; i < 40; i++ {
		if !bad[keyOf(i)] {
			want.Add(fakeLabel(i), fakeScores(i))
		}
	}
	want.N, want.Bad = 40, len(bad)
	sameCounts(t, "skip-bad", m, want)
	if m.Acc1() != float64(want.Top1)/float64(40-len(bad)) {
		t.Errorf("Acc1 %v not over the scored samples", m.Acc1())
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := m.Results("d", "m", "names", true).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	rr, err := ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	back, err := rr.Restore()
	if err != nil || back.N != 40 || back.Bad != len(bad) {
		t.Fatalf("restored %+v, %v", back, err)
	}
}

func keyOf(i int) string { return fmt.Sprintf("s%07d", i) }
