//go:build !amd64 || purego

package tensor

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

func q8tile(k lowpKernel, mr, kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int) {
	goQTile4(mr, kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
}

func b2tile(k lowpKernel, mr, kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, bias *float32, acc int) {
	goBTile2(mr, kp, a, lda, b, c, ldc, bias, acc)
}

func quantizeU8(q []int16, x []float32, inv float32, zero int32) { quantizeU8Go(q, x, inv, zero) }

func minMax(x []float32) (lo, hi float32) { return minMaxGo(x) }
