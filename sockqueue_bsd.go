//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package websocket

import (
	"syscall"
	"unsafe"
)

// fionread is FIONREAD on the BSDs and macOS: _IOR('f', 127, int).
const fionread = 0x4004667f

// receiveQueued returns the bytes waiting in the socket's receive queue, or
// 0 if it cannot tell.
func receiveQueued(raw syscall.RawConn) int {
	var n int32
	raw.Control(func(fd uintptr) {
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, fionread, uintptr(unsafe.Pointer(&n)))
		if errno != 0 {
			n = 0
		}
	})
	return int(n)
}
