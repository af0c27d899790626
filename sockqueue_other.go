//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package websocket

import "syscall"

// receiveQueued cannot look at the receive queue here: keepalive sees only
// the bytes the reader has taken.
func receiveQueued(raw syscall.RawConn) int { return 0 }
