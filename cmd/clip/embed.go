package main

import (
	"context"
	"errors"
	"io"
)

// runEmbed is not implemented yet.
func runEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("embed: not implemented yet")
}
