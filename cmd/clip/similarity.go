package main

import (
	"context"
	"errors"
	"io"
)

// runSimilarity is not implemented yet.
func runSimilarity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("similarity: not implemented yet")
}
