// Package websocket implements WebSocket (RFC 6455) servers for net/http
// and clients, on the standard library alone.
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
// Dial is the client: it connects to a ws:// or wss:// URL and returns the
// same *Conn, with the same methods and guarantees:
//
//	c, _, err := websocket.Dial(ctx, "wss://example.com/feed", nil)
//	if err != nil {
//		return err // a *DialError holds the server's answer if it refused
//	}
//	defer c.CloseNow()
//	err = c.WriteJSON(ctx, subscribe{Topic: "prices"})
//
// # Clients
//
// Dial checks the server's answer strictly (101, the Upgrade and Connection
// headers, Sec-WebSocket-Accept, a subprotocol and extensions that were
// offered) and does not follow redirects: a refusal is a *DialError with the
// response, whose body can still be read. DialOptions set request headers,
// a cookie jar, subprotocols, a permessage-deflate offer, the TLS
// configuration, the dialer, and the proxy: by default the one the
// environment names (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), reached with an
// HTTP CONNECT tunnel, with the proxy URL's credentials. As in net/http,
// the environment's proxy variables are read once per process, and never
// apply to localhost or a loopback address. A client masks
// every frame it sends with a key from crypto/rand (RFC 6455 §5.3), copying
// the caller's data as it masks so that the caller's slice is never
// changed, and it lets the server close TCP first at the end of the closing
// handshake. A Conn from Dial has a keepalive like a server's.
//
// The client is conformance-tested like the server: the repository's
// Autobahn suite (autobahn/), in its fuzzingserver role, runs all 517 cases
// against examples/echoclient, which uses Dial: every case passes, those
// that ask the client for a smaller compression window included (the three
// that Autobahn rates INFORMATIONAL for everyone aside).
//
// Testing a handler is the common case: serve it with httptest and Dial it.
//
//	srv := httptest.NewServer(websocket.Handler(echo))
//	defer srv.Close()
//	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
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
// buffer. ReadJSON and WriteJSON move one JSON value per text message.
//
// Received text is validated as it arrives: a message with invalid UTF-8
// fails the connection at the first bad byte, before the rest of it is read.
//
// # Control messages and keepalive
//
// Pings are answered with pongs by the read loop; Options.OnPing and OnPong
// let a program watch them. Ping sends a ping and waits for its pong.
//
// Keepalive is on by default: a peer that sends nothing for
// Options.PingInterval (15 s) gets a ping, and one that sends nothing at
// all for PingTimeout (15 s) after it is dropped, so a half-open
// connection (a peer that vanished without a FIN: a phone that lost its
// network, an unplugged machine) ends within 45 seconds instead of
// lingering forever. Anything that arrives counts, whether the application
// has read it yet or not, so a handler busy with its own work does not get
// a live peer dropped; and the timeout starts when the ping actually goes
// out, after a long write if one holds the connection. A negative
// PingInterval turns keepalive off. The pings also keep proxies and load
// balancers, which cut idle connections (nginx after 60 s), from closing a
// quiet WebSocket.
//
// # Closing
//
// Close runs the closing handshake: it sends a Close frame with a status
// code and reason, waits a bounded time (Options.CloseTimeout) for the
// peer's, and closes TCP. When the peer closes first, the read loop
// answers and returns a *CloseError with the peer's code and reason. A
// Close that finds a handshake under way, begun by another goroutine,
// Server.Shutdown or the peer, waits for it instead of cutting it short.
// CloseNow drops the connection without a handshake. Done is closed when
// the connection has ended, however it ended.
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
// the viewers of a dashboard, the voters of a poll): each message is framed
// once and queued for every member, and a member's sender, a goroutine that
// exists only while messages wait, writes everything waiting in one write,
// so a member that falls behind for a moment catches up in a few large
// writes. A member is dropped only when it truly falls behind: more than
// MaxBacklog bytes (1 MiB by default) waiting, or a write stalled past
// WriteTimeout; OnDrop and Stats tell the application. Publish sends state
// that is replaced rather than accumulated (a tally, a price) under a key,
// so a member that is behind gets only the newest value. Rooms holds one
// Broadcaster per room or topic while anyone is in it, and moves
// connections between them. A member whose connection ends leaves by
// itself.
//
// # Errors
//
// An error from a read or write ends the connection; every later read
// returns the same error, and every later write fails at once with an error
// matching ErrClosed that says how the connection ended. Errors say who
// closed and why, and are matched with errors.Is and errors.As:
//
//   - the peer closed: a *CloseError with Local false, and the peer's code
//     and reason;
//   - this side closed: a *CloseError with Local true; errors.Is matches
//     ErrShutdown (Server.Shutdown, 1001) or ErrSlowConsumer (a
//     Broadcaster dropped the member, 1013), and ErrCloseTimeout when the
//     peer did not answer;
//   - the peer broke the protocol: ErrProtocol (1002 sent), ErrInvalidUTF8
//     or ErrBadCompression (1007), ErrMessageTooBig (1009);
//   - the peer went silent: ErrKeepalive;
//   - a context passed to a read or write ended it: the context's error.
//
// CloseStatus extracts the close code from any of these. A refused
// handshake returns a *HandshakeError with the HTTP status sent, and is
// logged to Options.ErrorLog.
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
// message and, with context takeover, memory on every connection, and
// compressing secrets next to text an attacker chooses can leak them. The
// compressor is the package's own, with a window of 256 bytes to 32 KiB
// and a match finder sized like zlib's (CompressionOptions.WindowBits and
// MemLevel): with context takeover both ways, a connection keeps about
// 39 KB at the default setting, 3 KB at a small one, where compress/flate
// would keep 800 KB. Every valid offer is accepted, whatever window it asks
// for; a client that keeps its context is asked for a window no larger
// than the server's, which bounds the history kept to inflate its
// messages. Compressed messages stream like any other; what they inflate
// to is held to the read limit.
//
// # Memory
//
// Buffers are borrowed from shared pools only while a frame is being read or
// a message written. Replies to requests that arrived together are sent
// together, in one write, when the reader has gone through them. On Unix
// sockets, an idle connection waits for data through syscall.RawConn with
// no read buffer at all, so thousands of idle
// connections cost little more than their goroutines. Server runs each
// handler on a new goroutine and lets net/http's per-request state go.
//
// # Behind a reverse proxy
//
// A proxy must pass the upgrade on: HTTP/1.1 to the backend, the Upgrade
// and Connection headers forwarded, and a read timeout longer than
// PingInterval (nginx's default of 60 s is). It must also keep the port in
// Host: the origin check compares the browser's Origin (which has the
// port) with Host, and nginx's common "proxy_set_header Host $host;" drops
// the port, so every browser gets 403 (the refusal, logged to
// Options.ErrorLog, says so). For nginx:
//
//	map $http_upgrade $connection_upgrade {
//		default upgrade;
//		''      close;
//	}
//	server {
//		listen 8080;
//		location / {
//			proxy_pass http://127.0.0.1:9000;
//			proxy_http_version 1.1;
//			proxy_set_header Upgrade $http_upgrade;
//			proxy_set_header Connection $connection_upgrade;
//			proxy_set_header Host $http_host; # with the port, as the browser sent it
//		}
//	}
//
// Where Host must stay as it is, have the proxy set
// "X-Forwarded-Host $http_host" and set Options.TrustForwardedHost, which
// lets the origin check accept that host too; only a proxy that sets the
// header itself may be trusted with it. TestBehindNginx runs a real nginx
// with each of these.
//
// # HTTP/2
//
// Upgrade, Handler, Wrap and Server also accept WebSockets over HTTP/2
// (RFC 8441): a CONNECT request whose :protocol is "websocket" on an
// HTTP/2 stream. The same checks apply (version, origin, subprotocols,
// permessage-deflate), without Sec-WebSocket-Key; the answer is 200
// instead of 101, and the Conn runs over the stream: the request body one
// way, the response, flushed at each write, the other. The Conn is the
// same, with the same guarantees; IsUpgrade reports such a request too.
// Browsers use it when a page's HTTP/2 connection offers it, so the
// page's WebSockets and its requests share one TLS connection; HTTP/1.1
// upgrades keep working on the same server.
//
// Go's HTTP/2 server (checked with Go 1.26; extended CONNECT arrived in
// Go 1.24, turned off) offers this only when the process starts with
// http2xconnect=1 in the GODEBUG environment variable:
//
//	GODEBUG=http2xconnect=1 ./server
//
// net/http reads the variable once, while the program initializes, so
// setting it later (os.Setenv in main) has no effect, and neither a
// //go:debug line nor a godebug line in go.mod accepts this setting (the
// build fails with "unknown //go:debug setting"). With it, the server's
// SETTINGS frame says SETTINGS_ENABLE_CONNECT_PROTOCOL=1 and extended
// CONNECT requests reach the handler. Without it (the default), the
// server offers nothing of the kind and resets any stream that tries
// (RST_STREAM with PROTOCOL_ERROR), so browsers open a separate HTTP/1.1
// connection for their WebSockets, as they always did. It is off by
// default for a reason: once a server offers it, browsers send it every
// WebSocket of the origin over HTTP/2, which fails wherever the code
// behind that server knows only HTTP/1.1 upgrades (golang/go#71128). Turn
// it on only where every WebSocket endpoint of the server is served by
// this package. Plain-text HTTP/2 (http.Protocols.SetUnencryptedHTTP2)
// carries it too, for clients with prior knowledge; browsers use it only
// over TLS.
//
// What differs over HTTP/2:
//
//   - The stream lives as long as the handler that called Upgrade: the
//     handler must not return before Close or CloseNow has returned
//     (Server's handlers need not care). Closing a Conn ends its stream,
//     never the TCP connection and its other streams: a completed closing
//     handshake ends it with END_STREAM, an abrupt end with END_STREAM or,
//     when a write is blocked on the peer's flow-control window, a reset.
//     A stream the peer resets ends the Conn with an error that says so.
//   - Each WebSocket keeps net/http's handler goroutine for its whole
//     life, so http.Server.Shutdown waits for it: call Server.Shutdown at
//     the same time (see examples/echo), and its peers get 1001.
//   - HTTP/2 flow control is per stream and per connection. net/http
//     gives each stream and the connection the same window (1 MiB) by
//     default, so one handler that stops reading stalls every upload and
//     WebSocket on its connection; give streams less than the connection
//     (below).
//   - Deadlines behave as over TCP: one that passes during a read or
//     write fails it and ends the WebSocket (net/http ends the request
//     body, or resets the stream); one that passes while nothing is read
//     or written ends nothing, and may be moved or lifted before the next
//     read or write. net/http itself would act on a deadline whenever it
//     passed, so the Conn hands it over only while a read or write is in
//     progress, which costs a message to net/http's connection goroutine
//     before and after each read and write while a deadline is set.
//   - Each message costs more: net/http copies it through its own buffers
//     and goroutines and frames it in DATA frames, and flow control adds
//     WINDOW_UPDATE frames (see h2test/bench_test.go for the figures).
//
// A server with WebSockets over HTTP/2, whose streams cannot take the whole
// connection's window:
//
//	srv := &http.Server{
//		Handler:   websocket.Wrap(mux, handle),
//		Protocols: new(http.Protocols),
//		HTTP2: &http.HTTP2Config{
//			MaxReceiveBufferPerStream:     256 << 10,
//			MaxReceiveBufferPerConnection: 4 << 20,
//		},
//	}
//	srv.Protocols.SetHTTP1(true)
//	srv.Protocols.SetHTTP2(true)
//	log.Fatal(srv.ListenAndServeTLS(certFile, keyFile)) // run with GODEBUG=http2xconnect=1
//
// Dial speaks HTTP/1.1 only, over TLS too (it offers ALPN "http/1.1").
// Opening a WebSocket over HTTP/2 needs a request with a :protocol
// pseudo-header, and net/http's client refuses to send one: Go 1.26's
// Transport checks header names before it picks a protocol and fails
// with `net/http: invalid header field name ":protocol"`. Its bundled
// HTTP/2 client has code for extended CONNECT behind that check, out of
// reach; a client of its own would mean an HTTP/2 implementation in this
// package, which has no dependencies. The h2test module tests the server
// side with a small HTTP/2 client built on golang.org/x/net/http2.
//
// # Transports
//
// A Conn runs over a net.Conn after an HTTP/1.1 upgrade, over TLS (wss) as
// well as plain TCP, or over an HTTP/2 stream (see HTTP/2). A connection type that wraps a *net.TCPConn (to count
// bytes or limit rates) is read and written through its own methods; only
// the socket types themselves are read with system calls of the package's
// own.
package websocket
