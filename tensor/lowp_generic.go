package tensor

import "unsafe"

// goBTile is the portable bf16 tile: C[mr,16] (+)= A[mr,k]·Bp[k,16] (+bias),
// Bp a bf16 panel (bfPos layout). It is also the reference loop of the
// bgemm kernels:
//
//	for i < mr, j < 16:
//		s := 0; for p < k: s += a[i·lda+p] · float32(b[p·16+bfPos(j)])
//		c[i·ldc+j] = (acc ≠ 0 ? c[i·ldc+j] : 0) + s (+ bias[j])
func goBTile(mr, k int, a *float32, lda int, b *uint16, c *float32, ldc int, bias *float32, acc int) {
	const nr = lowpNR
	var w [nr]float32
	var sums [8][nr]float32
	bs := unsafe.Slice(b, k*nr)
	for p := 0; p < k; p++ {
		for j := range w {
			w[j] = bf16ToF32(bs[p*nr+bfPos(j)])
		}
		for i := 0; i < mr; i++ {
			x := *(*float32)(unsafe.Add(unsafe.Pointer(a), 4*(i*lda+p)))
			s := &sums[i]
			for j := range s {
				s[j] += x * w[j]
			}
		}
	}
	finishTile(sums[:mr], c, ldc, bias, acc)
}

// finishTile adds C (acc ≠ 0) and bias to the row sums and stores them.
func finishTile(sums [][lowpNR]float32, c *float32, ldc int, bias *float32, acc int) {
	for i := range sums {
		s := &sums[i]
		cr := (*[lowpNR]float32)(unsafe.Add(unsafe.Pointer(c), 4*i*ldc))
		if acc != 0 {
			for j := range s {
				s[j] = cr[j] + s[j]
			}
		}
		if bias != nil {
			br := (*[lowpNR]float32)(unsafe.Pointer(bias))
			for j := range s {
				s[j] += br[j]
			}
		}
		*cr = *s
	}
}

// goQTile is the portable int8 tile and the reference loop of the qgemm
// kernels (exact integer sums, then the same float32 operations in the
// same order):
//
//	for i < mr, j < 16:
//		s := int32(0); for p < 2kp: s += int32(a[i·lda+p]) · int32(b[(p/2)·32+2j+p%2])
//		s -= az[i·lds] · wsum[j]
//		t := float32(s) · ws[j] · as[i·lds]
//		c[i·ldc+j] = (acc ≠ 0 ? c[i·ldc+j] : 0) + t (+ bias[j])
func goQTile(mr, kp int, a *int16, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int) {
	const nr = lowpNR
	var isum [8][nr]int32
	bs := unsafe.Slice(b, kp*2*nr)
	for i := 0; i < mr; i++ {
		ar := unsafe.Slice((*int16)(unsafe.Add(unsafe.Pointer(a), 2*i*lda)), 2*kp)
		s := &isum[i]
		for q := 0; q < kp; q++ {
			a0, a1 := int32(ar[2*q]), int32(ar[2*q+1])
			bq := bs[q*2*nr : (q+1)*2*nr]
			for j := range s {
				s[j] += a0*int32(bq[2*j]) + a1*int32(bq[2*j+1])
			}
		}
	}
	qFinish(isum[:mr], c, ldc, as, az, lds, ws, wsum, bias, acc)
}

// goQTile4 is the int8 tile of the dot-product layout and the reference
// loop of the VNNI kernels: u8 activation quads (row stride lda bytes),
// weight quads (64 bytes per quad: column j's 4 inputs at 4j); the sums
// and epilogue are goQTile's:
//
//	for i < mr, j < 16:
//		s := int32(0); for p < 4kq: s += int32(a[i·lda+p]) · int32(b[(p/4)·64+4j+p%4])
//		s -= az[i·lds] · wsum[j]
//		c[i·ldc+j] = (acc ≠ 0 ? c : 0) + float32(s)·ws[j]·as[i·lds] (+ bias[j])
func goQTile4(mr, kq int, a *uint8, lda int, b *int8, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int) {
	const nr = lowpNR
	var isum [maxMR][nr]int32
	bs := unsafe.Slice(b, kq*4*nr)
	for i := 0; i < mr; i++ {
		ar := unsafe.Slice((*uint8)(unsafe.Add(unsafe.Pointer(a), i*lda)), 4*kq)
		s := &isum[i]
		for q := 0; q < kq; q++ {
			bq := bs[q*4*nr : (q+1)*4*nr]
			for j := range s {
				for u := 0; u < 4; u++ {
					s[j] += int32(ar[4*q+u]) * int32(bq[4*j+u])
				}
			}
		}
	}
	qFinish(isum[:mr], c, ldc, as, az, lds, ws, wsum, bias, acc)
}

// qFinish is the epilogue of the int8 tiles (see goQTile).
func qFinish(isum [][lowpNR]int32, c *float32, ldc int, as *float32, az *int32, lds int, ws *float32, wsum *int32, bias *float32, acc int) {
	wss := (*[lowpNR]float32)(unsafe.Pointer(ws))
	wsm := (*[lowpNR]int32)(unsafe.Pointer(wsum))
	var sums [maxMR][lowpNR]float32 // up to AMX's 16 rows
	for i := range isum {
		z := *(*int32)(unsafe.Add(unsafe.Pointer(az), 4*i*lds))
		sc := *(*float32)(unsafe.Add(unsafe.Pointer(as), 4*i*lds))
		for j := range sums[i] {
			t := float32(isum[i][j] - z*wsm[j])
			t = float32(t * wss[j])
			sums[i][j] = float32(t * sc)
		}
	}
	finishTile(sums[:len(isum)], c, ldc, bias, acc)
}

// goBTile2 is the bf16 tile of the dot-product layout and the reference
// loop of the AVX512_BF16 kernel: bf16 activation pairs (row stride lda
// values) times weight pairs (32 values per pair: column j's 2 inputs at
// 2j). Per pair it does what VDPBF16PS does: the odd product, then the
// even one, each added with one float32 rounding (the products of two
// bf16 are exact in float32):
//
//	s += float32(a[2q+1])·float32(b[q·32+2j+1]); s += float32(a[2q])·float32(b[q·32+2j])
//
// (VDPBF16PS also flushes subnormal inputs and results to zero; this loop
// does not, which can differ only below 2⁻¹²⁶.)
func goBTile2(mr, kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, bias *float32, acc int) {
	const nr = lowpNR
	var sums [maxMR][nr]float32
	bs := unsafe.Slice(b, kp*2*nr)
	for i := 0; i < mr; i++ {
		ar := unsafe.Slice((*uint16)(unsafe.Add(unsafe.Pointer(a), 2*i*lda)), 2*kp)
		s := &sums[i]
		for q := 0; q < kp; q++ {
			a0, a1 := bf16ToF32(ar[2*q]), bf16ToF32(ar[2*q+1])
			bq := bs[q*2*nr : (q+1)*2*nr]
			for j := range s {
				s[j] = float32(s[j] + a1*bf16ToF32(bq[2*j+1]))
				s[j] = float32(s[j] + a0*bf16ToF32(bq[2*j]))
			}
		}
	}
	finishTile(sums[:mr], c, ldc, bias, acc)
}
