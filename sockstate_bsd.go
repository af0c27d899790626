//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package websocket

import (
	"syscall"
	"unsafe"
)

// fionread is FIONREAD on the BSDs and macOS: _IOR('f', 127, int).
const fionread = 0x4004667f

// querySocket asks the kernel about the receive queue of the socket fd.
// The send queue is not looked at here: keepalive then counts the bytes
// handed to the socket as a long write's progress.
func querySocket(fd uintptr) socketState {
	var s socketState
	var n int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, fionread, uintptr(unsafe.Pointer(&n))); errno == 0 {
		s.inq = int(n)
	}
	return s
}
