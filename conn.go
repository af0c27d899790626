package websocket

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync/atomic"
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
	// DefaultPingInterval is how long a peer may stay quiet before
	// keepalive pings it, unless Options.PingInterval says otherwise.
	DefaultPingInterval = 15 * time.Second
	// DefaultPingTimeout is how long keepalive waits for anything from a
	// peer it pinged, unless Options.PingTimeout says otherwise. With the
	// defaults, a peer that vanished without closing is dropped within
	// 2*DefaultPingInterval + DefaultPingTimeout (45 s).
	DefaultPingTimeout = 15 * time.Second
)

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
// the same error, and writes return ErrClosed wrapped with what ended it.
// How a connection ends, and every path to its end, is in lifecycle.go.
type Conn struct {
	rwc    io.ReadWriteCloser // the transport: a net.Conn after an HTTP/1.1 upgrade
	nc     net.Conn           // rwc as a net.Conn, or nil
	client bool               // this is the client's end: it masks its frames

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
	in            input
	frame         header // the data frame being read; length counts down
	msgOpen       bool   // a data message has begun and its last frame is not read
	msgText       bool
	msgCompressed bool  // the open message is compressed (RSV1 on its first frame)
	msgSize       int64 // bytes of the open message announced so far
	utf8          utf8Validator
	readErr       error // sticky: once set, every read returns it
	mr            messageReader

	// The write side. msgSem is held for a whole data message, out.mu for
	// each frame, so control frames may go out between a message's
	// fragments but never inside a frame.
	msgSem chan struct{}
	out    output
	mw     messageWriter
	pong   duePong

	life lifecycle

	// Ping and keepalive.
	pings     pingWaiters
	keepalive *keepalive
}

// newConn wraps a transport that has completed the opening handshake.
// buffered holds bytes the peer sent after its handshake that were already
// read from the transport.
func newConn(rwc io.ReadWriteCloser, buffered []byte, subprotocol string, o *Options) *Conn {
	return openConn(rwc, buffered, subprotocol, o, nil, false)
}

// openConn is newConn for either side: client makes it the client's end,
// which masks what it sends and expects what it reads unmasked. p, if not
// nil, is the permessage-deflate agreement. Everything is set up before
// keepalive's timer starts, since its goroutine may end the connection.
func openConn(rwc io.ReadWriteCloser, buffered []byte, subprotocol string, o *Options, p *deflateParams, client bool) *Conn {
	c := &Conn{
		client:       client,
		rwc:          rwc,
		subprotocol:  subprotocol,
		readLimit:    DefaultReadLimit,
		wbufSize:     DefaultWriteBufferSize,
		closeTimeout: DefaultCloseTimeout,
		msgSem:       make(chan struct{}, 1),
	}
	c.nc, _ = rwc.(net.Conn)
	c.in.init(rwc, buffered, c)
	c.out.init(rwc, &c.in.ready, c)
	c.mr.c = c
	c.mw.c = c
	if o == nil {
		o = &defaultOptions
	}
	switch {
	case o.ReadLimit > 0:
		c.readLimit = o.ReadLimit
	case o.ReadLimit < 0:
		c.readLimit = -1
	}
	if o.WriteBufferSize > 0 {
		c.wbufSize = max(o.WriteBufferSize, 2*maxHeaderSize)
	}
	if o.CloseTimeout > 0 {
		c.closeTimeout = o.CloseTimeout
	}
	c.onPing = o.OnPing
	c.onPong = o.OnPong
	if p != nil {
		c.deflate = newDeflateState(c, o.Compression, *p)
		c.rsvOK = rsv1Bit
	}
	if interval, timeout := o.keepalive(); interval > 0 {
		c.startKeepalive(interval, timeout)
	}
	return c
}

// Subprotocol returns the subprotocol chosen in the handshake, or "" when
// none was.
func (c *Conn) Subprotocol() string { return c.subprotocol }

// NetConn returns the underlying network connection. Reading or writing it
// directly corrupts the WebSocket stream; it is there for addresses, socket
// options and the like.
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

// watch arranges for the connection to be shut down if ctx ends before the
// returned stop function is called. It costs nothing for a context that
// cannot end, such as context.Background().
func (c *Conn) watch(ctx context.Context) (stop func() bool) {
	if ctx.Done() == nil {
		return nil
	}
	return context.AfterFunc(ctx, func() { c.shutdown(context.Cause(ctx)) })
}
