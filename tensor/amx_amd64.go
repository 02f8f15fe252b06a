//go:build !purego

package tensor

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The AMX kernels of lowp512_amd64.s (tools/asmgen/amx.go): int8 by
// TDPBUSD and bf16 by TDPBF16PS on 16×16 tiles. They are chosen only when
// CPUID reports AMX-TILE with AMX-INT8 or AMX-BF16 (with AVX-512 for the
// rest of the product) and Linux has granted the process the tile data
// state (amxPermitted); goQTile4 and goBTile2 are their reference loops.

var (
	hasAMXInt8 = hasAVX512 && cpu.X86.HasAMXTile && cpu.X86.HasAMXInt8
	hasAMXBF16 = hasAVX512 && cpu.X86.HasAMXTile && cpu.X86.HasAMXBF16
)

//go:noescape
func amxInt8(cfg *[64]byte, a *byte, lda int, b *byte, pstride int, np int, c *byte, steps int, tail int)

//go:noescape
func amxBF16(cfg *[64]byte, a *byte, lda int, b *byte, pstride int, np int, c *byte, steps int, tail int)

// qFinishAVX512 is qFinish on AVX-512 for one panel of mr ≥ 1 rows of
// sums s (16 per row): the same float32 operations in the same order.
//
//go:noescape
func qFinishAVX512(mr int, s *int32, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int)

// finishAVX512 is finishTile on AVX-512 for one panel of mr ≥ 1 rows of
// sums s (16 per row).
//
//go:noescape
func finishAVX512(mr int, s *float32, c *float32, ldc int, bias *float32, acc int)

// amxConfig is the tile configuration (palette 1) of one call with mr rows
// of A and a tail of tail < 16 quads (int8) or pairs (bf16): see amx.go.
func amxConfig(mr, tail int) [64]byte {
	var c [64]byte
	c[0] = 1 // palette 1; start_row 0
	set := func(t, rows, colsb int) {
		binary.LittleEndian.PutUint16(c[16+2*t:], uint16(colsb))
		c[48+t] = byte(rows)
	}
	set(0, mr, 64)
	set(1, 16, 64)
	set(2, 16, 64)
	if tail > 0 {
		set(3, mr, 4*tail)
		set(6, tail, 64)
		set(7, tail, 64)
	}
	set(4, mr, 64)
	set(5, mr, 64)
	return c
}

// amxQ8 is q8tile's AMX path: the int32 sums of mr ≤ 16 rows of kq u8
// quads (row stride lda bytes) against np ≤ maxPanels int8 panels (pstride
// bytes apart) in one call, then the epilogue of each panel.
func amxQ8(mr, kq, np int, a *uint8, lda int, b *int8, pstride int, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int) {
	var sums [maxPanels][lowpNR * lowpNR]int32
	cfg := amxConfig(mr, kq%16)
	amxInt8(&cfg, a, lda, (*byte)(unsafe.Pointer(b)), pstride, np, (*byte)(unsafe.Pointer(&sums[0][0])), kq/16, kq%16)
	for q := range np {
		qFinishAVX512(mr, &sums[q][0], colsAt(c, q), ldc, as, az, lds, colsAt(ws, q), colsAt(wsum, q), colsAt(bias, q), acc)
	}
}

// amxB2 is b2tile's AMX path: the float32 sums of mr ≤ 16 rows of kp bf16
// pairs (row stride lda values) against np ≤ maxPanels bf16 panels
// (pstride values apart), then the epilogue of each panel.
func amxB2(mr, kp, np int, a *uint16, lda int, b *uint16, pstride int, c *float32, ldc int, bias *float32, acc int) {
	var sums [maxPanels][lowpNR * lowpNR]float32
	cfg := amxConfig(mr, kp%16)
	amxBF16(&cfg, (*byte)(unsafe.Pointer(a)), 2*lda, (*byte)(unsafe.Pointer(b)), 2*pstride, np, (*byte)(unsafe.Pointer(&sums[0][0])), kp/16, kp%16)
	for q := range np {
		finishAVX512(mr, &sums[q][0], colsAt(c, q), ldc, colsAt(bias, q), acc)
	}
}
