//go:build !purego

package tensor

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate sh -c "cd ../tools/asmgen && go run . -kernel vnni -out ../../tensor/lowp512_amd64.s"

// The kernels of lowp512_amd64.s (tools/asmgen/vnni.go) for CPUs with
// dot-product instructions: AVX512_VNNI and AVX-VNNI (int8) and
// AVX512_BF16 (bf16). They are chosen only when CPUID reports the
// instructions (x/sys/cpu); goQTile4 and goBTile2 are their reference
// loops, which run everywhere.

//go:noescape
func qgemmVNNI512x1(kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

//go:noescape
func qgemmVNNI512x2(kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

//go:noescape
func qgemmVNNI512x3(kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

//go:noescape
func qgemmVNNI512x4(kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

//go:noescape
func qgemmVNNI512x5(kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

//go:noescape
func qgemmVNNI512x6(kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

//go:noescape
func qgemmVNNI512x7(kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

//go:noescape
func qgemmVNNI512x8(kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

//go:noescape
func qgemmAVXVNNIx1(kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

//go:noescape
func qgemmAVXVNNIx2(kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

//go:noescape
func qgemmAVXVNNIx3(kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

//go:noescape
func qgemmAVXVNNIx4(kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

//go:noescape
func qgemmAVXVNNIx5(kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

//go:noescape
func qgemmAVXVNNIx6(kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

//go:noescape
func bgemmAVX512BF16x1(kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, bias *float32, acc int)

//go:noescape
func bgemmAVX512BF16x2(kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, bias *float32, acc int)

//go:noescape
func bgemmAVX512BF16x3(kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, bias *float32, acc int)

//go:noescape
func bgemmAVX512BF16x4(kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, bias *float32, acc int)

//go:noescape
func bgemmAVX512BF16x5(kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, bias *float32, acc int)

//go:noescape
func bgemmAVX512BF16x6(kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, bias *float32, acc int)

//go:noescape
func bgemmAVX512BF16x7(kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, bias *float32, acc int)

//go:noescape
func bgemmAVX512BF16x8(kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, bias *float32, acc int)

var (
	hasVNNI512    = hasAVX512 && cpu.X86.HasAVX512VNNI
	hasAVXVNNI    = hasAVX2 && cpu.X86.HasAVXVNNI
	hasAVX512BF16 = hasAVX512 && cpu.X86.HasAVX512BF16
)

// pickLowp chooses the kernels of precision p on this CPU.
func pickLowp(p Precision) lowpKernel {
	switch {
	case p == Int8 && hasAMXInt8 && amxPermitted(), p == BF16 && hasAMXBF16 && amxPermitted():
		return kAMX
	case p == Int8 && hasVNNI512:
		return kAVX512
	case p == Int8 && hasAVXVNNI:
		return kAVXVNNI
	case p == BF16 && hasAVX512BF16:
		return kAVX512
	case hasAVX2:
		return kAVX2
	}
	return kGo
}

// availableLowp lists the kernels of precision p this CPU can run (for
// tests): the portable ones always.
func availableLowp(p Precision) []lowpKernel {
	l := []lowpKernel{kGo, kGoVNNI}
	if hasAVX2 {
		l = append(l, kAVX2)
	}
	if p == Int8 && hasAVXVNNI {
		l = append(l, kAVXVNNI)
	}
	if (p == Int8 && hasAMXInt8 || p == BF16 && hasAMXBF16) && amxPermitted() {
		l = append(l, kAMX)
	}
	if (p == Int8 && hasVNNI512) || (p == BF16 && hasAVX512BF16) {
		l = append(l, kAVX512)
	}
	return l
}

// q8tile computes one int8 row tile of np adjacent panels (pstride bytes
// apart; their columns 16 apart in c, ws, wsum and bias) from u8
// activation quads with kernel k (kGoVNNI, kAVXVNNI, kAVX512 or kAMX); mr ≤
// k.mr(), np ≤ k.panels().
func q8tile(k lowpKernel, mr, kq, np int, a *uint8, lda int, b *int8, pstride int, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int) {
	if k == kAMX {
		amxQ8(mr, kq, np, a, lda, b, pstride, c, ldc, as, az, lds, ws, wsum, bias, acc)
		return
	}
	for q := range np {
		q8panel(k, mr, kq, a, lda, (*int8)(unsafe.Add(unsafe.Pointer(b), q*pstride)), colsAt(c, q), ldc, as, az, lds, colsAt(ws, q), colsAt(wsum, q), colsAt(bias, q), acc)
	}
}

// q8panel is q8tile for one panel with a VNNI kernel or goQTile4.
func q8panel(k lowpKernel, mr, kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int) {
	switch k {
	case kAVX512:
		switch mr {
		case 1:
			qgemmVNNI512x1(kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
		case 2:
			qgemmVNNI512x2(kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
		case 3:
			qgemmVNNI512x3(kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
		case 4:
			qgemmVNNI512x4(kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
		case 5:
			qgemmVNNI512x5(kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
		case 6:
			qgemmVNNI512x6(kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
		case 7:
			qgemmVNNI512x7(kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
		case 8:
			qgemmVNNI512x8(kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
		}
	case kAVXVNNI:
		switch mr {
		case 1:
			qgemmAVXVNNIx1(kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
		case 2:
			qgemmAVXVNNIx2(kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
		case 3:
			qgemmAVXVNNIx3(kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
		case 4:
			qgemmAVXVNNIx4(kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
		case 5:
			qgemmAVXVNNIx5(kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
		case 6:
			qgemmAVXVNNIx6(kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
		}
	default:
		goQTile4(mr, kq, a, lda, b, c, ldc, as, az, lds, ws, wsum, bias, acc)
	}
}

// b2tile computes one bf16 row tile of np adjacent panels (pstride values
// apart; their columns 16 apart in c and bias) from bf16 activation pairs
// with kernel k (kGoVNNI, kAVX512 or kAMX); mr ≤ k.mr(), np ≤ k.panels().
func b2tile(k lowpKernel, mr, kp, np int, a *uint16, lda int, b *uint16, pstride int, c *float32, ldc int, bias *float32, acc int) {
	if k == kAMX {
		amxB2(mr, kp, np, a, lda, b, pstride, c, ldc, bias, acc)
		return
	}
	for q := range np {
		b2panel(k, mr, kp, a, lda, (*uint16)(unsafe.Add(unsafe.Pointer(b), 2*q*pstride)), colsAt(c, q), ldc, colsAt(bias, q), acc)
	}
}

// b2panel is b2tile for one panel with AVX512_BF16 or goBTile2.
func b2panel(k lowpKernel, mr, kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, bias *float32, acc int) {
	if k != kAVX512 {
		goBTile2(mr, kp, a, lda, b, c, ldc, bias, acc)
		return
	}
	switch mr {
	case 1:
		bgemmAVX512BF16x1(kp, a, lda, b, c, ldc, bias, acc)
	case 2:
		bgemmAVX512BF16x2(kp, a, lda, b, c, ldc, bias, acc)
	case 3:
		bgemmAVX512BF16x3(kp, a, lda, b, c, ldc, bias, acc)
	case 4:
		bgemmAVX512BF16x4(kp, a, lda, b, c, ldc, bias, acc)
	case 5:
		bgemmAVX512BF16x5(kp, a, lda, b, c, ldc, bias, acc)
	case 6:
		bgemmAVX512BF16x6(kp, a, lda, b, c, ldc, bias, acc)
	case 7:
		bgemmAVX512BF16x7(kp, a, lda, b, c, ldc, bias, acc)
	case 8:
		bgemmAVX512BF16x8(kp, a, lda, b, c, ldc, bias, acc)
	}
}
