//go:build !purego && amd64

package clip

// portableKernels: this build computes with the portable Go kernels.
const portableKernels = false
