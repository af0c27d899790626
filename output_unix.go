//go:build unix

package websocket

import "syscall"

// A nowWriter writes to a socket only what the socket takes at once,
// never waiting for it to drain: the Broadcaster's way to write to an idle
// member from a goroutine that serves many (see member.sendNow).
type nowWriter struct {
	raw syscall.RawConn
	fn  func(fd uintptr) // w.write, made once
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
// much that was. It writes inside RawConn.Control rather than Write: Write
// also takes the descriptor's write lock and readies the poller for a wait
// that never comes (7% of the CPU of a fan-out to idle members, profiled),
// and the caller holds the connection's output, which keeps every other writer
// out. Control keeps the descriptor open while the write runs; on a closed
// one it does nothing, and try returns 0.
func (w *nowWriter) try(p []byte) int {
	w.p, w.n = p, 0
	w.raw.Control(w.fn)
	w.p = nil
	return w.n
}

// write is the callback for syscall.RawConn.Control. The descriptor is in
// non-blocking mode, as the runtime keeps every socket: a full socket
// buffer fails the write with EAGAIN, and nothing is written.
func (w *nowWriter) write(fd uintptr) {
	for {
		n, err := syscall.Write(int(fd), w.p)
		if err == syscall.EINTR {
			continue
		}
		if err == nil {
			w.n = n
		}
		return
	}
}
