//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package websocket

import (
	"syscall"
	"unsafe"
)

// fionread is FIONREAD on the BSDs and macOS: _IOR('f', 127, int).
const fionread = 0x4004667f

// socketQueues returns the bytes waiting in the socket's receive queue, or
// 0 if it cannot tell. The send queue is not looked at here: keepalive
// then counts bytes handed to the socket as the peer's progress.
func socketQueues(raw syscall.RawConn) (in, out int) {
	var n int32
	raw.Control(func(fd uintptr) {
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, fionread, uintptr(unsafe.Pointer(&n))); errno != 0 {
			n = 0
		}
	})
	return int(n), 0
}
