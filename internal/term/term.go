// Package term answers one question for the commands' progress displays:
// is this writer a terminal? It is the one implementation behind
// evaluate's reporter, hub's download progress and cmd/clip.
package term

import (
	"io"
	"os"
)

// IsTerminal reports whether w is an *os.File open on a terminal, so that
// a progress line may be redrawn in place with "\r". A regular file, a
// pipe, /dev/null (a character device, but no terminal) and any other
// writer are not.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	return isTerminal(f)
}
