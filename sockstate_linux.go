//go:build linux && !386

package websocket

import (
	"encoding/binary"
	"syscall"
	"unsafe"
)

// Offsets in Linux's struct tcp_info (include/uapi/linux/tcp.h) of
// tcpi_bytes_acked and tcpi_bytes_received, there since Linux 4.2; the
// kernel reports how much of the struct it filled.
const (
	tcpiBytesAcked    = 120
	tcpiBytesReceived = 128
	tcpInfoLen        = 136
)

// querySocket asks the kernel about the socket fd: its queues, and the
// counts TCP_INFO keeps, if it is a TCP socket on a kernel that has them.
func querySocket(fd uintptr) socketState {
	var s socketState
	var inq, outq int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&inq))); errno == 0 {
		s.inq = int(inq)
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&outq))); errno == 0 {
		s.outq = int(outq)
	}
	var info [tcpInfoLen]byte
	n := uint32(len(info))
	_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.SOL_TCP, syscall.TCP_INFO,
		uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&n)), 0)
	if errno == 0 && n >= tcpInfoLen {
		s.acked = binary.NativeEndian.Uint64(info[tcpiBytesAcked:])
		s.received = binary.NativeEndian.Uint64(info[tcpiBytesReceived:])
		s.counted = true
	}
	return s
}
