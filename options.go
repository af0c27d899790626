package websocket

import (
	"log"
	"net/http"
	"time"
)

// Options configure Upgrade and the Conn it returns. The zero value, like a
// nil *Options, is a safe default for a public server: same-origin requests
// only, no subprotocol, a 32 MiB read limit, keepalive that drops a peer
// gone silent within 45 seconds, a 5-second closing handshake.
type Options struct {
	// Subprotocols lists the application protocols the server speaks, in
	// its order of preference. The first one the client also offers is
	// chosen and echoed in Sec-WebSocket-Protocol; Conn.Subprotocol reports
	// it. If the client offers none of them, the connection goes ahead
	// with none: check Subprotocol if one is required.
	Subprotocols []string

	// OriginPatterns lists the hosts, besides the request's own, whose
	// pages may open a connection, matched against the host[:port] of the
	// Origin header with path.Match, case-insensitively: "example.com",
	// "*.example.com", "localhost:*", "[::1]:8080". Square brackets stand
	// for themselves, as in an IPv6 address; there are no character
	// classes. Browsers always send Origin, so this is what stops another
	// site's page from opening a connection with the user's cookies
	// (cross-site WebSocket hijacking). Requests without an Origin (not
	// from a browser) are accepted.
	OriginPatterns []string

	// CheckOrigin, if set, replaces the origin check: it reports whether
	// the request may go ahead. A refused request gets 403 Forbidden.
	CheckOrigin func(r *http.Request) bool

	// TrustForwardedHost lets the origin check take the host a reverse
	// proxy names in X-Forwarded-Host as the request's own, besides Host.
	// Set it only behind a proxy that sets that header itself; see
	// "Behind a reverse proxy" in the package documentation.
	TrustForwardedHost bool

	// ReadLimit is the largest message, in bytes, the Conn reads; a larger
	// one fails the connection with StatusMessageTooBig. Zero means
	// DefaultReadLimit (32 MiB); a negative value means no limit.
	ReadLimit int64

	// WriteBufferSize is the size of the buffer a message Writer fills
	// before it sends a fragment. Zero means DefaultWriteBufferSize
	// (64 KiB). The buffer is borrowed from a pool only while a message is
	// being written.
	WriteBufferSize int

	// PingInterval is how long the peer may stay quiet before keepalive
	// sends it a ping; if nothing at all arrives for PingTimeout after the
	// ping went out, the connection is closed and reads return
	// ErrKeepalive. Anything from the peer counts, read by the application
	// yet or not. A peer that vanished without closing (a half-open
	// connection) is dropped within 2*PingInterval + PingTimeout. Zero
	// means DefaultPingInterval (15 s); a negative value turns keepalive
	// off.
	PingInterval time.Duration
	// PingTimeout is how long keepalive waits for anything from a peer it
	// pinged. Zero means the same as PingInterval.
	PingTimeout time.Duration

	// HandshakeTimeout bounds writing the 101 response, so a client that
	// does not read cannot hold Upgrade. Zero means 10 seconds. The request
	// itself is read by net/http before Upgrade runs: bound it with
	// http.Server.ReadHeaderTimeout, which is what cuts off a client that
	// trickles its headers. Over HTTP/2 it does not apply: net/http writes
	// the 200 on the connection the stream shares, and even a reset of
	// the stream waits behind that connection's writes, so only
	// http.HTTP2Config.WriteByteTimeout, which closes a connection that
	// takes no bytes for that long, bounds a client that stops reading.
	HandshakeTimeout time.Duration

	// CloseTimeout bounds the closing handshake: how long Close, or a
	// failing connection, waits for the peer's Close frame before closing
	// the transport regardless. Zero means DefaultCloseTimeout (5s).
	CloseTimeout time.Duration

	// Compression, if set, accepts permessage-deflate (RFC 7692) from
	// clients that offer it, as browsers do. It is off by default: it
	// costs CPU on every message and memory on every connection, gains
	// nothing on binary or already-compressed data, and compressing
	// secrets next to attacker-chosen text can leak them (as CRIME and
	// BREACH did for TLS and HTTP). See CompressionOptions.
	Compression *CompressionOptions

	// OnPing, if set, is called with the payload of each ping from the
	// peer, before the pong is sent. OnPong is called with each pong's.
	// They run on the reading goroutine, which waits for them, and must not
	// keep the slice. They may call Close.
	OnPing func(payload []byte)
	OnPong func(payload []byte)

	// ErrorLog receives a line for each refused handshake (with the
	// client's address, the status sent and why) and, for a Server, each
	// handler that panicked. Nil means the log package's standard logger,
	// as for http.Server; log.New(io.Discard, "", 0) silences it.
	ErrorLog *log.Logger
}

// defaultOptions stands in for a nil *Options. It is never written.
var defaultOptions Options

// keepalive returns the keepalive settings, or a zero interval for none.
func (o *Options) keepalive() (interval, timeout time.Duration) {
	interval, timeout = o.PingInterval, o.PingTimeout
	switch {
	case interval < 0:
		return 0, 0
	case interval == 0:
		interval = DefaultPingInterval
	}
	if timeout <= 0 {
		timeout = interval
	}
	return interval, timeout
}

// logf writes to ErrorLog, or to the standard logger.
func (o *Options) logf(format string, args ...any) {
	if o.ErrorLog != nil {
		o.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}
