package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// interruptExitCode is the status of a process killed by SIGINT in a
// shell (128 + 2), used when a second interrupt ends the program at once.
const interruptExitCode = 130

// notifyInterrupt returns a context cancelled by the first SIGINT or
// SIGTERM, so that commands stop cleanly (eval writes partial results). A
// second signal exits at once with status 130, as `go test` and most
// CLIs do: a phase that cannot be interrupted (a read blocked on a pipe,
// a stalled peer, a long computation) must never swallow Ctrl-C. stop
// restores the default signal handling.
func notifyInterrupt(parent context.Context, stderr io.Writer, exit func(int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "\nclip: %v: stopping (press Ctrl-C again to exit at once)\n", s)
			cancel()
		case <-done:
			return
		}
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "clip: %v again: exiting\n", s)
			exit(interruptExitCode)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}
