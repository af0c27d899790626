package websocket

import (
	"syscall"
	"unsafe"
)

// socketQueues returns the bytes waiting in the socket's receive queue and
// those in its send queue not yet acknowledged by the peer, or zeros if it
// cannot tell.
func socketQueues(raw syscall.RawConn) (in, out int) {
	var inq, outq int32
	raw.Control(func(fd uintptr) {
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&inq))); errno != 0 {
			inq = 0
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&outq))); errno != 0 {
			outq = 0
		}
	})
	return int(inq), int(outq)
}
