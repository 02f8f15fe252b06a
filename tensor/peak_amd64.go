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

// peakMaddAVX2 runs n iterations of 12 independent VPMADDWD+VPADDD pairs
// (192 int8 multiply-adds, exact); it only serves BenchmarkPeakFMA.
//
//go:noescape
func peakMaddAVX2(n int)

// peakMaddubsAVX2 runs n iterations of 12 independent VPMADDUBSW+VPMADDWD
// +VPADDD triples (384 multiply-adds, int16-saturating); it only serves
// BenchmarkPeakFMA.
//
//go:noescape
func peakMaddubsAVX2(n int)
