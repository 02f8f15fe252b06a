//go:build !amd64 || purego

package tensor

// The portable element-wise kernels are the reference loops:
//
//	exp:       x[i] = float32(math.Exp(float64(x[i]*scale - shift)))
//	quickGELU: x[i] = x[i] / (1 + float32(math.Exp(-1.702*float64(x[i]))))
//	gelu:      x[i] = float32(0.5*float64(x[i])*(1+math.Erf(float64(x[i])/math.Sqrt2)))

func vecWidth(s isa) int { return 1 }

func vecExp(s isa, x *float32, n int, scale, shift float32) { goExp(x, n, scale, shift) }

func vecQuickGELU(s isa, x *float32, n int) { goQuickGELU(x, n) }

func vecGELU(s isa, x *float32, n int) { goGELU(x, n) }
