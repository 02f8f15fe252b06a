//go:build !purego

package tensor

//go:generate sh -c "cd ../tools/asmgen && go run . -kernel peak -out ../../tensor/peak_amd64.s"

// peakFMAAVX512 runs n iterations of 24 independent zmm FMAs (768 FLOP per
// iteration); it only serves BenchmarkPeakFMA.
//
//go:noescape
func peakFMAAVX512(n int)

// peakFMAAVX2 runs n iterations of 14 independent ymm FMAs (224 FLOP per
// iteration); it only serves BenchmarkPeakFMA.
//
//go:noescape
func peakFMAAVX2(n int)
