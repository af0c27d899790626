package websocket

import (
	"io"
	"net"
	"sync/atomic"
	"syscall"
)

// readBufSize is the buffer a Conn reads headers and small payloads into.
// Payloads larger than this go straight from the socket into the caller's
// buffer.
const readBufSize = 4 << 10

// input is the read side's buffer over the transport: bytes read from it
// that the frame reader has not consumed yet. It belongs to the goroutine
// holding the read role; only ready and received are for others.
//
// Invariants: 0 <= pos <= end <= len(*buf), and buf is nil whenever
// pos == end: a buffer that empties goes back to its pool at once, so an
// idle connection holds none. ready is pos < end, published for the
// output's coalescing.
type input struct {
	buf      *[]byte
	pos, end int

	r      io.Reader
	before beforeReader // run before every read from r

	// raw is r's socket when r is exactly a *net.TCPConn or *net.UnixConn:
	// the wait for data then goes through the network poller with no
	// buffer (see rawRead). A type that merely embeds one may override
	// Read, so it is read through its own Read.
	raw    syscall.RawConn
	rawFn  func(fd uintptr) bool // in.rawRead, made once
	rawDst []byte                // destination of a raw read; nil means buf
	rawN   int
	rawErr error

	ready    atomic.Bool
	received atomic.Uint64 // bytes read from r, for keepalive
}

// beforeReader is told before each read from the transport: the output
// sends what it held back while input was waiting (see output.go).
type beforeReader interface{ beforeRead() }

// init sets the input up over r, holding buffered, bytes of the stream
// already read from r.
func (in *input) init(r io.Reader, buffered []byte, before beforeReader) {
	in.r = r
	in.before = before
	if rawReadSupported && isSocket(r) {
		if raw, err := r.(syscall.Conn).SyscallConn(); err == nil {
			in.raw = raw
			in.rawFn = in.rawRead
		}
	}
	if len(buffered) > 0 {
		in.buf = getBuf(len(buffered))
		if len(*in.buf) < len(buffered) {
			b := make([]byte, len(buffered))
			in.buf = &b
		}
		in.end = copy(*in.buf, buffered)
		in.ready.Store(true)
	}
}

// isSocket reports whether r is exactly one of the socket types whose
// reads and writes this package may make with system calls of its own.
func isSocket(r any) bool {
	switch r.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

// buffered returns the unread bytes.
func (in *input) buffered() []byte {
	if in.buf == nil {
		return nil
	}
	return (*in.buf)[in.pos:in.end]
}

// ensure makes the buffer hold at least n (at most readBufSize) unread
// bytes.
func (in *input) ensure(n int) error {
	for in.end-in.pos < n {
		if in.buf != nil && len(*in.buf)-in.pos < n {
			// Not enough room behind the unread bytes: move them to the
			// front.
			in.end = copy(*in.buf, (*in.buf)[in.pos:in.end])
			in.pos = 0
		}
		if err := in.fill(); err != nil {
			return err
		}
	}
	return nil
}

// consume marks n buffered bytes read. A buffer that empties goes back to
// its pool.
func (in *input) consume(n int) {
	in.pos += n
	if in.pos == in.end {
		in.release()
	}
}

// release gives the buffer back, dropping anything unread.
func (in *input) release() {
	putBuf(in.buf)
	in.buf = nil
	in.pos, in.end = 0, 0
	in.ready.Store(false)
}

// skip discards the next n bytes of the stream.
func (in *input) skip(n int64) error {
	for n > 0 {
		if in.pos == in.end {
			if err := in.fill(); err != nil {
				return err
			}
		}
		k := int(min(n, int64(in.end-in.pos)))
		in.consume(k)
		n -= int64(k)
	}
	return nil
}

// fill reads at least one more byte into the buffer. When the buffer is
// empty and the transport is a socket, the wait for data holds no buffer:
// one is borrowed only once the socket is readable (see rawRead).
func (in *input) fill() error {
	in.before.beforeRead()
	err := in.fillBuffer()
	in.ready.Store(in.pos < in.end)
	return err
}

func (in *input) fillBuffer() error {
	if in.raw != nil {
		in.rawDst, in.rawN, in.rawErr = nil, 0, nil
		err := in.raw.Read(in.rawFn)
		if err == nil {
			err = in.rawErr
		}
		if err != nil {
			return err
		}
		in.end += in.rawN
		in.received.Add(uint64(in.rawN))
		return nil
	}
	if in.buf == nil {
		in.buf = getBuf(readBufSize)
	}
	n, err := in.r.Read((*in.buf)[in.end:])
	in.end += n
	if n > 0 {
		in.received.Add(uint64(n))
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	if in.pos == in.end {
		in.release()
	}
	return err
}

// readDirect reads into p straight from the transport, bypassing the
// buffer, which must be empty.
func (in *input) readDirect(p []byte) (int, error) {
	in.before.beforeRead()
	var n int
	var err error
	if in.raw != nil {
		in.rawDst, in.rawN, in.rawErr = p, 0, nil
		err = in.raw.Read(in.rawFn)
		in.rawDst = nil
		if err == nil {
			err = in.rawErr
		}
		n = in.rawN
	} else {
		n, err = in.r.Read(p)
		if n > 0 {
			err = nil
		} else if err == nil {
			err = io.ErrNoProgress
		}
	}
	in.received.Add(uint64(n))
	return n, err
}
