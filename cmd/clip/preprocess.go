package main

import (
	"context"
	"errors"
	"io"
)

// runPreprocess is not implemented yet.
func runPreprocess(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("preprocess: not implemented yet")
}
