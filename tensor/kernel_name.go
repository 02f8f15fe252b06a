package tensor

// Kernel names the kernel set the matrix products, attention and
// activations use on this CPU, chosen once at start-up: "avx512"
// (AVX-512 F+DQ), "avx2" (AVX2+FMA) or "go" (portable Go; also with the
// purego build tag and on other architectures).
func Kernel() string { return simd.String() }
