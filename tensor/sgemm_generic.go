package tensor

import "unsafe"

// isa names a kernel set.
type isa uint8

const (
	isaGo     isa = iota // portable Go
	isaAVX2              // AVX2 + FMA, ymm
	isaAVX512            // AVX-512 F+DQ, zmm
)

// tileShape is the register tile of a kernel set: up to mr rows of A by
// the nr columns of one packed panel.
type tileShape struct{ mr, nr int }

var tileShapes = [...]tileShape{isaGo: {4, 16}, isaAVX2: {6, 16}, isaAVX512: {10, 32}}

func (s isa) shape() tileShape { return tileShapes[s] }

func (s isa) String() string { return [...]string{"go", "avx2", "avx512"}[s] }

// goTile is the portable tile function: 4 rows at most, 16 columns.
func goTile(mr, k int, a *float32, lda int, b, c *float32, ldc int, bias *float32, acc int) {
	const nr = 16
	var sums [4][nr]float32
	bs := unsafe.Slice(b, k*nr)
	for i := 0; i < mr; i++ {
		s := &sums[i]
		if k > 0 {
			ar := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(a), 4*i*lda)), k)
			for p, x := range ar {
				bp := (*[nr]float32)(bs[p*nr : p*nr+nr])
				for j := range s {
					s[j] += x * bp[j]
				}
			}
		}
		cr := (*[nr]float32)(unsafe.Add(unsafe.Pointer(c), 4*i*ldc))
		if acc != 0 {
			for j := range s {
				s[j] += cr[j]
			}
		}
		if bias != nil {
			br := (*[nr]float32)(unsafe.Pointer(bias))
			for j := range s {
				s[j] += br[j]
			}
		}
		*cr = *s
	}
}
