// Package tensor holds the float32 numerics of goclip: the matrix products
// that dominate CLIP's cost, and the element-wise blocks around them
// (layer norm, softmax, GELU variants).
//
// Everything works on plain row-major []float32 slices with explicit shapes;
// there is no tensor object with hidden allocation. Callers own every buffer.
package tensor
