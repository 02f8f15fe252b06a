package clip

import (
	"errors"

	"github.com/goclip/goclip/internal/safetensors"
)

// ErrClosed is returned by calls on a Model after Close.
var ErrClosed = errors.New("clip: model is closed")

// Errors wrapped by *TensorError, for errors.Is.
var (
	ErrMissingTensor = safetensors.ErrMissingTensor
	ErrShape         = safetensors.ErrShape
	ErrDType         = safetensors.ErrDType
)

// FormatError reports a weights file that is not a valid safetensors file
// (truncated, garbage header, offsets out of range).
type FormatError = safetensors.FormatError

// TensorError reports a problem with one named tensor; Err is one of
// ErrMissingTensor, ErrShape or ErrDType, possibly wrapped.
type TensorError = safetensors.TensorError
