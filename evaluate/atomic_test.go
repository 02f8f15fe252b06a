package evaluate

import (
	"path/filepath"
	"sync"
	"testing"
)

// TestResultsWriteFileConcurrent: two runs writing the same results file
// at once (two `clip eval --out r.json`) both succeed and leave a whole
// file. With the fixed temporary name "r.json.tmp" one run's rename found
// the other's temporary file already renamed and failed.
func TestResultsWriteFileConcurrent(t *testing.T) {
	m, err := NewMetrics(3)
	if err != nil {
		t.Fatal(err)
	}
	m.Add(1, []float32{0, 1, 0})
	path := filepath.Join(t.TempDir(), "r.json")
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if err := m.Results("d", "m", "names", false).WriteFile(path); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 3 {
			t.Error(err)
		}
	}
	if _, err := ReadResults(path); err != nil {
		t.Errorf("final file: %v", err)
	}
}
