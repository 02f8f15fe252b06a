package main

import (
	"context"
	"errors"
	"io"
)

// runClassify is not implemented yet.
func runClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("classify: not implemented yet")
}
