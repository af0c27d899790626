//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package websocket

import "syscall"

// socketQueues cannot look at the socket's queues here: keepalive sees
// only the bytes the reader took and those handed to the socket.
func socketQueues(raw syscall.RawConn) (in, out int) { return 0, 0 }
