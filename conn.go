package websocket

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// MessageType is the type of a data message: text or binary.
type MessageType int

const (
	// MessageText is a message of UTF-8 text. Received text is checked: a
	// peer that sends invalid UTF-8 fails the connection with
	// StatusInvalidData. Text written is not checked; it is the caller's to
	// keep valid.
	MessageText MessageType = MessageType(opText)
	// MessageBinary is a message of arbitrary bytes.
	MessageBinary MessageType = MessageType(opBinary)
)

// String returns "text" or "binary".
func (t MessageType) String() string {
	switch t {
	case MessageText:
		return "text"
	case MessageBinary:
		return "binary"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// Defaults for the zero values in Options.
const (
	// DefaultReadLimit is the largest message a Conn reads unless
	// Options.ReadLimit or SetReadLimit says otherwise.
	DefaultReadLimit = 32 << 20
	// DefaultWriteBufferSize is the buffer a Writer fills before it sends
	// a fragment.
	DefaultWriteBufferSize = 64 << 10
	// DefaultCloseTimeout bounds how long a close waits for the peer.
	DefaultCloseTimeout = 5 * time.Second
)

// readBufSize is the buffer a Conn reads headers and small payloads into.
// Payloads larger than this go straight from the socket into the caller's
// buffer.
const readBufSize = 4 << 10

// A Conn is a WebSocket connection, on the server side. Upgrade and Server
// return one.
//
// A Conn reads and writes whole messages (ReadMessage, WriteMessage) or
// streams them (Reader, Writer). Writes, Ping and Close are safe to call from
// any number of goroutines at once; a control frame is never written inside
// another frame. Reads are for one goroutine at a time: the one that runs
// the read loop. Pings from the peer are answered, and the closing handshake
// is completed, by that read loop, so a program that writes must also keep
// reading (or call Close).
//
// A read or write that fails ends the connection: every later read returns
// the same error, and writes return ErrClosed.
type Conn struct {
	// The transport: a net.Conn for HTTP/1.1, or any io.ReadWriteCloser
	// (an HTTP/2 stream, for instance).
	rwc io.ReadWriteCloser
	nc  net.Conn        // rwc as a net.Conn, or nil
	raw syscall.RawConn // rwc's descriptor, for waits that hold no buffer, or nil
	// vecw says rwc writes net.Buffers with a single writev, so a large
	// payload can follow its header without being copied.
	vecw bool

	subprotocol  string
	readLimit    int64
	wbufSize     int
	closeTimeout time.Duration
	onPing       func([]byte)
	onPong       func([]byte)
	rsvOK        byte          // RSV bits a negotiated extension gives meaning to
	deflate      *deflateState // permessage-deflate, when negotiated

	// The read side. It belongs to the goroutine that holds the read role
	// (see acquireRead): the user's read loop, or Close draining frames.
	reading       atomic.Bool
	rbuf          *[]byte // borrowed only while bytes are buffered; see fill
	rpos          int
	rend          int
	frame         header // the data frame being read; length counts down
	msgOpen       bool   // a data message has begun and its last frame is not read
	msgText       bool
	msgCompressed bool  // the open message is compressed (RSV1 on its first frame)
	msgSize       int64 // bytes of the open message announced so far
	utf8          utf8Validator
	readErr       error // sticky: once set, every read returns it
	mr            messageReader
	frames        atomic.Uint64 // frames read, for keepalive
	rawDst        []byte        // destination of a raw read; nil means the read buffer
	rawN          int
	rawErr        error
	rawFn         func(fd uintptr) bool

	// The write side. msgSem is held for a whole data message, wmu for
	// each frame, so control frames may go out between a message's
	// fragments but never inside a frame.
	msgSem    chan struct{}
	wmu       sync.Mutex
	closeSent bool        // guarded by wmu
	closing   atomic.Bool // closeSent, for readers that do not hold wmu
	mw        messageWriter
	ctrlOut   [2 + maxControlPayload]byte
	vec       *vectors // for writev; made on the first large write

	// Coalescing (see output.go): frames held back while the reader has
	// more input to go through, sent together when it runs out.
	pend       *[]byte
	pendN      int
	pending    atomic.Bool // pendN > 0, for the reader, which does not hold wmu
	inputReady atomic.Bool // the read buffer holds unread bytes
	pendTimer  *time.Timer

	// The end of the connection.
	closeMu    sync.Mutex
	closed     bool
	closeCause error         // why the transport was closed
	done       chan struct{} // closed with the transport; made on demand
	peerClosed chan struct{} // closed when the peer's Close frame arrives; made when ours is sent
	peerDone   bool          // the peer's Close frame arrived

	// Ping and keepalive.
	pingMu    sync.Mutex
	pingSeq   uint64
	pingWait  map[uint64]chan error
	keepalive *keepalive
}

// newConn wraps a transport that has completed the opening handshake.
// buffered holds bytes the peer sent after its handshake that were already
// read from the transport.
func newConn(rwc io.ReadWriteCloser, buffered []byte, subprotocol string, o *Options) *Conn {
	c := &Conn{
		rwc:          rwc,
		subprotocol:  subprotocol,
		readLimit:    DefaultReadLimit,
		wbufSize:     DefaultWriteBufferSize,
		closeTimeout: DefaultCloseTimeout,
		msgSem:       make(chan struct{}, 1),
	}
	if nc, ok := rwc.(net.Conn); ok {
		c.nc = nc
		switch nc.(type) {
		case *net.TCPConn, *net.UnixConn:
			c.vecw = true
		}
	}
	if sc, ok := rwc.(syscall.Conn); ok && rawReadSupported {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.rawFn = c.rawRead
		}
	}
	c.mr.c = c
	c.mw.c = c
	if o != nil {
		switch {
		case o.ReadLimit > 0:
			c.readLimit = o.ReadLimit
		case o.ReadLimit < 0:
			c.readLimit = -1
		}
		if o.WriteBufferSize > 0 {
			c.wbufSize = max(o.WriteBufferSize, 2*maxServerHeaderSize)
		}
		if o.CloseTimeout > 0 {
			c.closeTimeout = o.CloseTimeout
		}
		c.onPing = o.OnPing
		c.onPong = o.OnPong
	}
	if len(buffered) > 0 {
		c.rbuf = getBuf(len(buffered))
		if len(*c.rbuf) < len(buffered) {
			b := make([]byte, len(buffered))
			c.rbuf = &b
		}
		c.rend = copy(*c.rbuf, buffered)
	}
	if o != nil && o.PingInterval > 0 {
		c.startKeepalive(o.PingInterval, o.PingTimeout)
	}
	return c
}

// Subprotocol returns the subprotocol chosen in the handshake, or "" when
// none was.
func (c *Conn) Subprotocol() string { return c.subprotocol }

// NetConn returns the underlying network connection, or nil when the
// WebSocket runs over a transport that is not a net.Conn (an HTTP/2
// stream). Reading or writing it directly corrupts the WebSocket stream; it
// is there for addresses, socket options and the like.
func (c *Conn) NetConn() net.Conn { return c.nc }

// RemoteAddr returns the peer's network address, or nil when the transport
// has none.
func (c *Conn) RemoteAddr() net.Addr {
	if c.nc == nil {
		return nil
	}
	return c.nc.RemoteAddr()
}

// LocalAddr returns the local network address, or nil when the transport has
// none.
func (c *Conn) LocalAddr() net.Addr {
	if c.nc == nil {
		return nil
	}
	return c.nc.LocalAddr()
}

// SetReadLimit sets the largest message the Conn reads, in bytes; a larger
// one fails the connection with StatusMessageTooBig. A limit below zero
// removes the limit; zero restores DefaultReadLimit. Call it from the
// reading goroutine, or before reading starts.
func (c *Conn) SetReadLimit(n int64) {
	switch {
	case n == 0:
		n = DefaultReadLimit
	case n < 0:
		n = -1
	}
	c.readLimit = n
}

// deadliner is the part of net.Conn that transports other than net.Conn may
// offer too.
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

var errNoDeadlines = errors.New("websocket: the transport does not support deadlines")

// SetReadDeadline sets the time by which reads must complete, as
// net.Conn's does; a zero time means no deadline. A read that misses its
// deadline fails the connection, since the stream may stop inside a frame.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if d, ok := c.rwc.(deadliner); ok {
		return d.SetReadDeadline(t)
	}
	return errNoDeadlines
}

// SetWriteDeadline sets the time by which writes must complete, as
// net.Conn's does; a zero time means no deadline. A write that misses its
// deadline fails the connection.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if d, ok := c.rwc.(deadliner); ok {
		return d.SetWriteDeadline(t)
	}
	return errNoDeadlines
}

// shutdown closes the transport once, recording why. Reads and writes
// blocked on it return; later ones return cause (or ErrClosed).
func (c *Conn) shutdown(cause error) {
	c.closeMu.Lock()
	if c.closed {
		c.closeMu.Unlock()
		return
	}
	c.closed = true
	if cause == nil {
		cause = ErrClosed
	}
	c.closeCause = cause
	if c.done != nil {
		close(c.done)
	}
	c.closeMu.Unlock()
	c.rwc.Close()
	if c.keepalive != nil {
		c.keepalive.stop()
	}
	c.pingMu.Lock()
	for id, ch := range c.pingWait {
		ch <- c.writeErr()
		delete(c.pingWait, id)
	}
	c.pingMu.Unlock()
}

// cause returns why the transport was closed, or nil while it is open.
func (c *Conn) cause() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	return c.closeCause
}

// Done returns a channel that is closed when the connection's transport has
// closed, for whatever reason. Use it to stop work tied to the connection.
func (c *Conn) Done() <-chan struct{} {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.closed {
			close(c.done)
		}
	}
	return c.done
}

// CloseNow closes the connection at once, without the closing handshake:
// for a peer that is gone or misbehaving. Prefer Close, which also sends
// frames held back for coalescing (see WriteMessage); CloseNow discards
// them, as closing a socket discards what the kernel has not sent. Later
// reads and writes return ErrClosed.
func (c *Conn) CloseNow() error {
	c.shutdown(ErrClosed)
	return nil
}

// watch arranges for the connection to be shut down if ctx ends before the
// returned stop function is called. It costs nothing for a context that
// cannot end, such as context.Background().
func (c *Conn) watch(ctx context.Context) (stop func() bool) {
	if ctx.Done() == nil {
		return nil
	}
	return context.AfterFunc(ctx, func() { c.shutdown(context.Cause(ctx)) })
}
