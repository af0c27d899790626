//go:build unix

package websocket

import "syscall"

// A nowWriter writes to a socket only what the socket takes at once,
// never waiting for it to drain: the Broadcaster's way to write to an idle
// member from a goroutine that serves many (see member.sendNow).
type nowWriter struct {
	raw syscall.RawConn
	fn  func(fd uintptr) bool // w.write, made once
	p   []byte
	n   int
}

// nowWriter returns a nowWriter for c's socket, or nil when c's transport
// is not a plain socket (TLS, HTTP/2, a wrapper) or c is a client, whose
// frames are masked as they are written.
func (c *Conn) nowWriter() *nowWriter {
	if c.client || c.in.raw == nil || !c.out.vecw {
		return nil
	}
	w := &nowWriter{raw: c.in.raw}
	w.fn = w.write
	return w
}

// try writes what of p the socket takes without waiting, and returns how
// much that was.
func (w *nowWriter) try(p []byte) int {
	w.p, w.n = p, 0
	w.raw.Write(w.fn) // an error (closed, deadline passed) leaves n 0
	w.p = nil
	return w.n
}

// write is the callback for syscall.RawConn.Write. It returns true however
// the write went, so that Write never waits in the network poller.
func (w *nowWriter) write(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), w.p)
		if err == syscall.EINTR {
			continue
		}
		if err == nil {
			w.n = n
		}
		return true
	}
}
