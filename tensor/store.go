package tensor

// Store gives read access to named float32 weights, as loaded from a
// checkpoint. Implementations check the stored shape against shape and
// return an error naming the tensor when it differs or is missing.
//
// The returned slice may alias memory owned by the Store (for example a
// memory-mapped file); callers must not write to it.
type Store interface {
	Tensor(name string, shape ...int) ([]float32, error)
}
