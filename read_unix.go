//go:build unix

package websocket

import (
	"io"
	"os"
	"syscall"
)

const rawReadSupported = true

// rawRead is the callback for syscall.RawConn.Read, which calls it when the
// socket may be readable and waits in the network poller each time it
// returns false. Reading here, rather than through net.Conn.Read, lets an
// idle connection wait with no buffer: the read buffer is borrowed only
// once there is something to put in it, and given back if the socket turns
// out to be empty. The result goes to c.rawN and c.rawErr.
func (c *Conn) rawRead(fd uintptr) bool {
	dst := c.rawDst
	borrowed := false
	if dst == nil {
		if c.rbuf == nil {
			c.rbuf = getBuf(readBufSize)
			borrowed = true
		}
		dst = (*c.rbuf)[c.rend:]
	}
	for {
		n, err := syscall.Read(int(fd), dst)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if borrowed {
				putBuf(c.rbuf)
				c.rbuf = nil
			}
			return false
		case err != nil:
			c.rawN, c.rawErr = 0, os.NewSyscallError("read", err)
		case n == 0:
			c.rawN, c.rawErr = 0, io.EOF
		default:
			c.rawN, c.rawErr = n, nil
			return true
		}
		if borrowed {
			putBuf(c.rbuf)
			c.rbuf = nil
		}
		return true
	}
}
