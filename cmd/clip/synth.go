package main

import (
	"context"
	"errors"
	"io"
)

// runSynth is not implemented yet.
func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("synth: not implemented yet")
}
