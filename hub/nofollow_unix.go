//go:build unix

package hub

import "syscall"

// oNoFollow makes OpenFile fail on a symbolic link instead of following it.
const oNoFollow = syscall.O_NOFOLLOW
