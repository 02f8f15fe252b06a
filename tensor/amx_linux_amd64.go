//go:build !purego

package tensor

import (
	"sync"
	"syscall"
)

// amxPermitted asks Linux, once per process, for the AMX tile data state
// (arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)); without that
// permission the first tile instruction would fault. The kernel also
// checks there that every thread's signal stack can hold the larger
// signal frame (Go's are 32 KiB; the AMX frame is about 11 KiB).
var amxPermitted = sync.OnceValue(func() bool {
	const archReqXcompPerm, xfeatureXTileData = 0x1023, 18
	_, _, errno := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXTileData, 0)
	return errno == 0
})
