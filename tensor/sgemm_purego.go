//go:build !amd64 || purego

package tensor

// tile computes one register tile. This portable version is the reference
// loop every assembly kernel implements (nr is the panel width of s):
//
//	for i := 0; i < mr; i++ {
//		for j := 0; j < nr; j++ {
//			s := float32(0)
//			for p := 0; p < k; p++ {
//				s += a[i*lda+p] * b[p*nr+j]
//			}
//			if acc != 0 {
//				s += c[i*ldc+j]
//			}
//			if bias != nil {
//				s += bias[j]
//			}
//			c[i*ldc+j] = s
//		}
//	}
func tile(s isa, mr, k int, a *float32, lda int, b, c *float32, ldc int, bias *float32, acc int) {
	goTile(mr, k, a, lda, b, c, ldc, bias, acc)
}

// simd is the kernel set used by default: the portable one.
var simd = isaGo

// availableISAs lists the kernel sets this build can run (for tests).
func availableISAs() []isa { return []isa{isaGo} }
