package websocket

import (
	"syscall"
	"unsafe"
)

// receiveQueued returns the bytes waiting in the socket's receive queue, or
// 0 if it cannot tell.
func receiveQueued(raw syscall.RawConn) int {
	var n int32
	raw.Control(func(fd uintptr) {
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
		if errno != 0 {
			n = 0
		}
	})
	return int(n)
}
