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
// idle connection wait with no buffer: the buffer is borrowed only once
// there is something to put in it, and given back if the socket turns out
// to be empty. The result goes to rawN and rawErr.
func (in *input) rawRead(fd uintptr) bool {
	dst := in.rawDst
	borrowed := false
	if dst == nil {
		if in.buf == nil {
			in.buf = getBuf(readBufSize)
			borrowed = true
		}
		dst = (*in.buf)[in.end:]
	}
	for {
		n, err := syscall.Read(int(fd), dst)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if borrowed {
				putBuf(in.buf)
				in.buf = nil
			}
			return false
		case err != nil:
			in.rawN, in.rawErr = 0, os.NewSyscallError("read", err)
		case n == 0:
			in.rawN, in.rawErr = 0, io.EOF
		default:
			in.rawN, in.rawErr = n, nil
			return true
		}
		if borrowed {
			putBuf(in.buf)
			in.buf = nil
		}
		return true
	}
}
