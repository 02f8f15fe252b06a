//go:build !amd64 || purego

package tensor

import "unsafe"

// pickLowp chooses the kernels of precision p: portable Go.
func pickLowp(p Precision) lowpKernel { return kGo }

func availableLowp(p Precision) []lowpKernel { return []lowpKernel{kGo, kGoVNNI} }

// btile computes one bf16 tile; goBTile holds the reference loop.
func btile(s lowpKernel, mr, k int, a *float32, lda int, b *uint16, c *float32, ldc int, bias *float32, acc int) {
	goBTile(mr, k, a, lda, b, c, ldc, bias, acc)
}

// qtile computes one int8 tile; goQTile holds the reference loop.
func qtile(s lowpKernel, mr, kp int, a *int16, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int) {
	goQTile(mr, kp, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
}

// q8tile computes one int8 row tile of np adjacent panels (pstride bytes
// apart); goQTile4 holds the reference loop.
func q8tile(k lowpKernel, mr, kq, np int, a *uint8, lda int, b *int8, pstride int, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int) {
	for q := range np {
		goQTile4(mr, kq, a, lda, (*int8)(unsafe.Add(unsafe.Pointer(b), q*pstride)), colsAt(c, q), ldc, as, az, lds, colsAt(ws, q), colsAt(wsum, q), colsAt(bias, q), acc)
	}
}

// b2tile computes one bf16 row tile of np adjacent panels (pstride values
// apart); goBTile2 holds the reference loop.
func b2tile(k lowpKernel, mr, kp, np int, a *uint16, lda int, b *uint16, pstride int, c *float32, ldc int, bias *float32, acc int) {
	for q := range np {
		goBTile2(mr, kp, a, lda, (*uint16)(unsafe.Add(unsafe.Pointer(b), 2*q*pstride)), colsAt(c, q), ldc, colsAt(bias, q), acc)
	}
}

func quantizeU8(q []int16, x []float32, inv float32, zero int32) { quantizeU8Go(q, x, inv, zero) }

func minMax(x []float32) (lo, hi float32) { return minMaxGo(x) }
