// Package websocket is a WebSocket server (RFC 6455) for net/http, built on
// the standard library alone.
//
// # Overview
//
// A handshake arrives as an ordinary HTTP request. Upgrade checks it, takes
// the connection over from net/http and returns a *Conn:
//
//	func chat(w http.ResponseWriter, r *http.Request) {
//		c, err := websocket.Upgrade(w, r, nil)
//		if err != nil {
//			return // the request was answered with the reason
//		}
//		defer c.CloseNow()
//		...
//	}
//
// Server does the same as an http.Handler, runs a handler per connection,
// caps the number of connections and closes them all on Shutdown. Wrap puts
// a Server in front of an existing handler: upgrades go to the WebSocket
// handler, every other request to the application, untouched.
//
// # Messages
//
// A message is text (UTF-8) or binary. ReadMessage and WriteMessage move
// whole messages; ReadMessage appends to a buffer the caller passes, so a
// read loop can reuse one buffer. Reader and Writer stream a message of any
// size through a fixed amount of memory: Reader's io.Reader spans the
// message's fragments, and Writer's io.WriteCloser sends a fragment each
// time its buffer fills and the last one on Close. Copying from a Reader to
// a Writer with io.Copy reads each fragment straight into the outgoing
// buffer.
//
// Received text is validated as it arrives: a message with invalid UTF-8
// fails the connection at the first bad byte, before the rest of it is read.
//
// # Control messages
//
// Pings are answered with pongs by the read loop; Options.OnPing and OnPong
// let a program watch them. Ping sends a ping and waits for its pong.
// Options.PingInterval turns on keepalive, which pings a peer that has gone
// quiet and drops it if it does not answer, so that half-open connections
// (a peer that vanished without a Close) end instead of lingering.
//
// Close runs the closing handshake: it sends a Close frame with a status
// code and reason, waits a bounded time for the peer's, and closes TCP. When
// the peer closes first, the read loop answers and returns a *CloseError
// with the peer's code and reason. CloseStatus extracts the code from any
// error.
//
// # Concurrency
//
// Writes (WriteMessage, Writer, WritePrepared), Ping and Close are safe from
// any number of goroutines: messages go out whole, one after another, and
// control frames are never written inside another frame. Reads are for one
// goroutine at a time. Because pongs and the closing handshake are handled
// by the reader, every connection needs a goroutine reading it, even one
// whose application only writes.
//
// # Broadcasting
//
// NewPreparedMessage frames a message once; WritePrepared sends it on any
// connection. Broadcaster does this for a set of connections (a chat room,
// the viewers of a dashboard): each member has a bounded queue and a sender
// that exists only while messages wait, and a member that falls behind, or
// whose writes stall, is dropped instead of slowing the others.
//
// # Errors
//
// An error from a read or write ends the connection; every later read
// returns the same error. What the peer did wrong is matched with errors.Is:
// ErrProtocol (close code 1002 sent), ErrInvalidUTF8 (1007),
// ErrMessageTooBig (1009); a close by the peer with errors.As and
// *CloseError; ErrKeepalive for a peer that stopped answering; ErrClosed for
// writes after the connection closed. A refused handshake returns a
// *HandshakeError with the HTTP status sent.
//
// # Security
//
// By default, a browser may only connect from a page of the same host:
// Upgrade refuses, with 403, a request whose Origin names another host,
// which is what stops another site from opening a connection with a user's
// cookies. Options.OriginPatterns lists more allowed hosts;
// Options.CheckOrigin replaces the policy.
//
// Messages are limited to 32 MiB by default (Options.ReadLimit). A frame
// header's claimed length is checked against the limit before anything is
// read, and memory grows with the bytes that arrive, not with the claim.
// The closing handshake is bounded by Options.CloseTimeout. Set
// http.Server.ReadHeaderTimeout to bound the handshake request itself: it is
// read by net/http before any handler runs.
//
// # Compression
//
// Options.Compression accepts permessage-deflate (RFC 7692), which browsers
// offer on every connection. It is off by default: it costs CPU on every
// message and, with context takeover, a compressor of several hundred KiB
// on every connection, and compressing secrets next to text an attacker
// chooses can leak them. Offers the server cannot honour (a server window
// below 32 KiB, which compress/flate cannot produce) are declined, and the
// connection goes ahead uncompressed. Compressed messages stream like any
// other; what they inflate to is held to the read limit.
//
// # Memory
//
// Buffers are borrowed from shared pools only while a frame is being read or
// a message written. Replies to requests that arrived together are sent
// together, in one write, when the reader has gone through them. On Unix sockets, an idle connection waits for data
// through syscall.RawConn with no read buffer at all, so thousands of idle
// connections cost little more than their goroutines. Server runs each
// handler on a new goroutine and lets net/http's per-request state go.
//
// # Transports
//
// A Conn runs over a net.Conn after an HTTP/1.1 upgrade, over TLS (wss) as
// well as plain TCP.
package websocket
