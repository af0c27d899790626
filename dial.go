package websocket

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DialOptions configure Dial and the Conn it returns. The zero value, like
// a nil *DialOptions, dials through the proxy the environment names (as
// net/http does), offers no subprotocol and no compression, and gives the
// Conn the same defaults as a server's: a 32 MiB read limit, keepalive, a
// 5-second closing handshake.
type DialOptions struct {
	// HTTPHeader holds extra request headers: Authorization, Origin, a
	// User-Agent. The handshake's own headers (Upgrade, Connection,
	// Sec-WebSocket-*) are set by Dial and may not be given here.
	HTTPHeader http.Header

	// Jar, if set, supplies the request's cookies and stores those the
	// response sets.
	Jar http.CookieJar

	// Subprotocols lists the application protocols the client speaks, in
	// its order of preference. The server picks one of them or none;
	// Conn.Subprotocol reports which. A server that picks one not offered
	// fails the handshake.
	Subprotocols []string

	// Compression, if set, offers permessage-deflate (RFC 7692). The
	// server decides whether to accept; without it the connection goes
	// ahead uncompressed.
	Compression *CompressionOptions

	// TLSConfig is used for wss URLs and HTTPS proxies. Nil means the
	// zero tls.Config. The server name defaults to the URL's host, and
	// only HTTP/1.1 is offered in ALPN.
	TLSConfig *tls.Config

	// NetDialContext, if set, opens the TCP connection (to the server, or
	// to the proxy). Nil means a net.Dialer's DialContext.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Proxy returns the proxy for a request, as http.Transport.Proxy
	// does; a nil URL means a direct connection. Nil means
	// http.ProxyFromEnvironment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY; a wss
	// URL counts as https). To never use a proxy, return nil, nil. The
	// WebSocket goes through an HTTP CONNECT tunnel; credentials in the
	// proxy URL are sent as Basic Proxy-Authorization.
	Proxy func(*http.Request) (*url.URL, error)

	// HandshakeTimeout bounds the whole handshake: the connection, the
	// proxy tunnel, TLS and the upgrade. Zero or a negative value means
	// 30 seconds; ctx can make it shorter, and a longer value longer.
	HandshakeTimeout time.Duration

	// ReadLimit, WriteBufferSize, PingInterval, PingTimeout, CloseTimeout,
	// OnPing and OnPong configure the Conn, as the fields of the same
	// names in Options do for a server's.
	ReadLimit       int64
	WriteBufferSize int
	PingInterval    time.Duration
	PingTimeout     time.Duration
	CloseTimeout    time.Duration
	OnPing          func(payload []byte)
	OnPong          func(payload []byte)
}

const defaultDialTimeout = 30 * time.Second

// maxResponseHeader bounds the handshake response's header: a real one is
// a few hundred bytes; net/http's Transport allows 10 MB by default.
const maxResponseHeader = 1 << 20

// maxProxyAnswer bounds the header of a proxy's answer to CONNECT.
const maxProxyAnswer = 64 << 10

// connOptions returns the Options a client Conn is made with.
func (o *DialOptions) connOptions() *Options {
	return &Options{
		ReadLimit:       o.ReadLimit,
		WriteBufferSize: o.WriteBufferSize,
		PingInterval:    o.PingInterval,
		PingTimeout:     o.PingTimeout,
		CloseTimeout:    o.CloseTimeout,
		Compression:     o.Compression,
		OnPing:          o.OnPing,
		OnPong:          o.OnPong,
	}
}

// A DialError is what Dial returns when the server's answer was not an
// acceptable WebSocket handshake: a status other than 101 (a redirect
// included: Dial does not follow them), a missing or wrong
// Sec-WebSocket-Accept, a subprotocol or extension that was not offered.
// It is also what a proxy's refusal of the tunnel gives, with the proxy's
// answer as Response: a 407's Proxy-Authenticate is in its Header.
// errors.Is(err, ErrBadHandshake) holds.
type DialError struct {
	// Reason says what was wrong.
	Reason string
	// Response is the server's answer, its body (up to 64 KiB) readable.
	Response *http.Response
}

// Error says what was wrong with the server's answer.
func (e *DialError) Error() string {
	return "websocket: bad handshake response: " + e.Reason
}

// Is makes errors.Is(err, ErrBadHandshake) hold for every DialError.
func (e *DialError) Is(target error) bool { return target == ErrBadHandshake }

// Dial opens a WebSocket connection to a ws:// or wss:// URL, as a client,
// and returns it with the server's handshake response. The Conn is the
// same type a server gets, with the same API and guarantees; a client's
// frames are masked, as RFC 6455 requires, with keys from crypto/rand.
//
// ctx bounds the handshake (see DialOptions.HandshakeTimeout); once Dial
// has returned, it has no effect on the connection. opts may be nil.
//
// A server that refuses, or answers with anything but a valid upgrade,
// gives a *DialError holding its response; so does a proxy that refuses
// the tunnel. The response is returned in
// every case where one was read.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, *http.Response, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	u, err := parseWebSocketURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	timeout := opts.HandshakeTimeout
	if timeout <= 0 {
		timeout = defaultDialTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	key := newChallengeKey()
	req, offer, err := newHandshakeRequest(u, key, opts)
	if err != nil {
		return nil, nil, err
	}
	nc, err := dialTransport(ctx, u, opts)
	if err != nil {
		var de *DialError
		if errors.As(err, &de) {
			return nil, de.Response, err // a proxy's refusal
		}
		return nil, nil, err
	}
	// The handshake's reads and writes end with ctx.
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	c, resp, err := handshake(nc, req, key, offer, opts)
	if !stop() && err == nil {
		// ctx ended just as the handshake did: its deadline may already
		// be on the connection.
		c.CloseNow()
		return nil, resp, fmt.Errorf("websocket: dial %s: %w", u.Redacted(), context.Cause(ctx))
	}
	if err != nil {
		nc.Close()
		if resp == nil && ctx.Err() != nil {
			// ctx's deadline on the connection, not the server, failed
			// the read or write: say so, as the dial and TLS phases do.
			return nil, nil, fmt.Errorf("websocket: dial %s: the handshake did not finish: %w", u.Redacted(), context.Cause(ctx))
		}
		return nil, resp, err
	}
	nc.SetDeadline(time.Time{})
	if opts.Jar != nil {
		if cookies := resp.Cookies(); len(cookies) > 0 {
			opts.Jar.SetCookies(httpURL(u), cookies)
		}
	}
	return c, resp, nil
}

// parseWebSocketURL parses a ws or wss URL.
func parseWebSocketURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("websocket: dial: %w", err)
	}
	switch u.Scheme {
	case "ws", "wss":
	default:
		return nil, fmt.Errorf("websocket: dial %s: the scheme must be ws or wss", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("websocket: dial %s: no host", u.Redacted())
	}
	if u.Fragment != "" {
		// RFC 6455 §3: fragments have no meaning in a WebSocket URI.
		return nil, fmt.Errorf("websocket: dial %s: a WebSocket URL has no fragment", u.Redacted())
	}
	return u, nil
}

// httpURL is u with the scheme net/http would use for it: http for ws,
// https for wss, as proxies and cookie jars know them.
func httpURL(u *url.URL) *url.URL {
	h := *u
	h.Scheme = "http"
	if u.Scheme == "wss" {
		h.Scheme = "https"
	}
	return &h
}

// hostPort returns u's host with its port, the default one if none is
// given.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	switch u.Scheme {
	case "wss", "https":
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// newChallengeKey returns a Sec-WebSocket-Key: 16 random bytes in base64.
func newChallengeKey() string {
	var k [16]byte
	rand.Read(k[:])
	return base64.StdEncoding.EncodeToString(k[:])
}

// newHandshakeRequest builds the opening handshake's request (RFC 6455
// §4.1) and returns it with the extension offer it makes.
func newHandshakeRequest(u *url.URL, key string, opts *DialOptions) (*http.Request, string, error) {
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Scheme: httpURL(u).Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header),
		Host:       u.Host,
	}
	for name, values := range opts.HTTPHeader {
		switch http.CanonicalHeaderKey(name) {
		case "Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version",
			"Sec-Websocket-Extensions", "Sec-Websocket-Protocol":
			return nil, "", fmt.Errorf("websocket: dial: the %s header is the handshake's own; see DialOptions", name)
		case "Host":
			if len(values) > 0 {
				req.Host = values[0]
			}
			continue
		}
		req.Header[http.CanonicalHeaderKey(name)] = values
	}
	if u.User != nil {
		// As net/http does for credentials in a URL.
		pw, _ := u.User.Password()
		req.SetBasicAuth(u.User.Username(), pw)
	}
	req.Header["Upgrade"] = []string{"websocket"}
	req.Header["Connection"] = []string{"Upgrade"}
	req.Header["Sec-WebSocket-Key"] = []string{key}
	req.Header["Sec-WebSocket-Version"] = []string{"13"}
	if len(opts.Subprotocols) > 0 {
		req.Header["Sec-WebSocket-Protocol"] = []string{strings.Join(opts.Subprotocols, ", ")}
	}
	var offer string
	if opts.Compression != nil {
		offer = deflateOffer(opts.Compression)
		req.Header["Sec-WebSocket-Extensions"] = []string{offer}
	}
	if opts.Jar != nil {
		for _, c := range opts.Jar.Cookies(httpURL(u)) {
			req.AddCookie(c)
		}
	}
	return req, offer, nil
}

// dialTransport opens the connection the handshake runs over: TCP to the
// server or through a proxy's CONNECT tunnel, then TLS for wss.
func dialTransport(ctx context.Context, u *url.URL, opts *DialOptions) (net.Conn, error) {
	dial := opts.NetDialContext
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	proxyFunc := opts.Proxy
	if proxyFunc == nil {
		proxyFunc = http.ProxyFromEnvironment
	}
	target := hostPort(u)
	proxyURL, err := proxyFunc(&http.Request{Method: http.MethodGet, URL: httpURL(u), Header: http.Header{}})
	if err != nil {
		return nil, fmt.Errorf("websocket: dial %s: choosing a proxy: %w", u.Redacted(), err)
	}
	var nc net.Conn
	if proxyURL == nil {
		if nc, err = dial(ctx, "tcp", target); err != nil {
			return nil, fmt.Errorf("websocket: dial %s: %w", u.Redacted(), err)
		}
	} else {
		if nc, err = dialProxy(ctx, dial, proxyURL, target, opts); err != nil {
			var de *DialError
			if errors.As(err, &de) {
				return nil, err // the proxy's refusal, which names it
			}
			return nil, fmt.Errorf("websocket: dial %s through proxy %s: %w", u.Redacted(), proxyURL.Redacted(), err)
		}
	}
	if u.Scheme == "wss" {
		tc, err := tlsClient(ctx, nc, u.Hostname(), opts.TLSConfig)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("websocket: dial %s: %w", u.Redacted(), err)
		}
		nc = tc
	}
	return nc, nil
}

// tlsClient runs a TLS handshake over nc for serverName, offering only
// HTTP/1.1 in ALPN: the upgrade is an HTTP/1.1 request.
func tlsClient(ctx context.Context, nc net.Conn, serverName string, base *tls.Config) (*tls.Conn, error) {
	cfg := &tls.Config{}
	if base != nil {
		cfg = base.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = serverName
	}
	cfg.NextProtos = []string{"http/1.1"}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}

// dialProxy opens a tunnel to target through the HTTP or HTTPS proxy at
// proxyURL with CONNECT (RFC 9110 §9.3.6).
func dialProxy(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), proxyURL *url.URL, target string, opts *DialOptions) (net.Conn, error) {
	var proxyAddr string
	switch proxyURL.Scheme {
	case "http", "":
		proxyAddr = hostPort(&url.URL{Scheme: "http", Host: proxyURL.Host})
	case "https":
		proxyAddr = hostPort(proxyURL)
	default:
		return nil, fmt.Errorf("unsupported proxy scheme %q", proxyURL.Scheme)
	}
	nc, err := dial(ctx, "tcp", proxyAddr)
	if err != nil {
		return nil, err
	}
	if proxyURL.Scheme == "https" {
		tc, err := tlsClient(ctx, nc, proxyURL.Hostname(), opts.TLSConfig)
		if err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: target},
		Host:   target,
		Header: make(http.Header),
	}
	if u := proxyURL.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	if err := req.Write(nc); err != nil {
		nc.Close()
		return nil, ctxCause(ctx, err)
	}
	// Read the answer byte by byte up to its end, so that nothing the
	// server sends through the tunnel afterwards is taken into a buffer,
	// and under a cap: a CONNECT answer is a few hundred bytes.
	lr := &io.LimitedReader{R: &byteReader{nc}, N: maxProxyAnswer}
	resp, err := http.ReadResponse(bufio.NewReaderSize(lr, 16), req)
	if err != nil {
		nc.Close()
		if lr.N <= 0 {
			return nil, fmt.Errorf("reading the proxy's answer: its header is larger than %d bytes", maxProxyAnswer)
		}
		return nil, fmt.Errorf("reading the proxy's answer: %w", ctxCause(ctx, err))
	}
	// The body is not read: after a 2xx the tunnel's bytes follow the
	// header, whatever framing the header announced.
	if resp.StatusCode/100 != 2 {
		// The answer goes back to the caller, who may need it: a 407's
		// Proxy-Authenticate says which credentials to retry with.
		lr.N = 64 << 10
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		nc.Close()
		return nil, &DialError{Reason: fmt.Sprintf("the proxy %s refused the tunnel: %s", proxyURL.Redacted(), resp.Status), Response: resp}
	}
	return nc, nil
}

// ctxCause returns ctx's cause in place of err, an I/O error, once ctx has
// ended: its deadline on the connection is then what failed the I/O.
func ctxCause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// byteReader reads one byte at a time, so that a bufio.Reader over it
// never reads ahead of what it is asked for.
type byteReader struct{ r io.Reader }

func (b *byteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return b.r.Read(p[:1])
}

// handshake sends the upgrade request over nc, checks the answer, and makes
// the Conn.
func handshake(nc net.Conn, req *http.Request, key, offer string, opts *DialOptions) (*Conn, *http.Response, error) {
	if err := req.Write(nc); err != nil {
		return nil, nil, fmt.Errorf("websocket: writing the handshake: %w", err)
	}
	// The header is read under a cap, so that a broken or hostile server
	// cannot make the client buffer without end; then the cap is lifted
	// for the body and the WebSocket stream.
	lr := &io.LimitedReader{R: nc, N: maxResponseHeader}
	br := bufio.NewReader(lr)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		if lr.N <= 0 {
			return nil, nil, fmt.Errorf("websocket: reading the handshake response: its header is larger than %d bytes", maxResponseHeader)
		}
		return nil, nil, fmt.Errorf("websocket: reading the handshake response: %w", err)
	}
	lr.N = math.MaxInt64
	fail := func(format string, args ...any) (*Conn, *http.Response, error) {
		// The body is kept, up to a limit, for the caller to read.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return nil, resp, &DialError{Reason: fmt.Sprintf(format, args...), Response: resp}
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode/100 == 3 {
			return fail("status %s, a redirect to %s (not followed)", resp.Status, loc)
		}
		return fail("status %s, want 101 Switching Protocols", resp.Status)
	}
	switch {
	case !headerHasToken(resp.Header, "Upgrade", "websocket"):
		return fail("the Upgrade header is %q, want websocket", resp.Header.Get("Upgrade"))
	case !headerHasToken(resp.Header, "Connection", "upgrade"):
		return fail("the Connection header is %q, want Upgrade", resp.Header.Get("Connection"))
	case resp.Header.Get("Sec-Websocket-Accept") != AcceptKey(key):
		return fail("Sec-WebSocket-Accept is %q, want %q", resp.Header.Get("Sec-Websocket-Accept"), AcceptKey(key))
	}
	subprotocol := resp.Header.Get("Sec-Websocket-Protocol")
	if subprotocol != "" && !contains(opts.Subprotocols, subprotocol) {
		return fail("the server chose the subprotocol %q, which was not offered", subprotocol)
	}
	deflate, err := acceptDeflateResponse(resp.Header["Sec-Websocket-Extensions"], offer, opts.Compression)
	if err != nil {
		return fail("%v", err)
	}
	// Bytes the server sent right behind its answer are the start of the
	// WebSocket stream.
	var early []byte
	if n := br.Buffered(); n > 0 {
		early, _ = br.Peek(n)
	}
	return openConn(nc, early, subprotocol, opts.connOptions(), deflate, true), resp, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// deflateOffer is the client's permessage-deflate offer under o.
//
// Without ContextTakeover it offers client_no_context_takeover, which tells
// the server it need keep no history (§7.1.1.2). It always offers
// client_max_window_bits, since the compressor takes any
// window the server asks for, with this side's window as its value unless
// that is 15 (§7.1.2.2: the client will use no more, whatever the answer).
// Without PeerContextTakeover it asks for server_no_context_takeover: the
// server's history would be ours to keep. With it, and a window below 15,
// it first offers server_max_window_bits, which bounds the history kept
// for the server, then the same without it, for servers that cannot
// compress in a smaller window and so decline the first (§7.1.2.1).
func deflateOffer(o *CompressionOptions) string {
	own := "; client_max_window_bits"
	if bits := o.windowBits(); bits < 15 {
		own += "=" + strconv.Itoa(bits)
	}
	if !o.ContextTakeover {
		own = "; client_no_context_takeover" + own
	}
	if !o.PeerContextTakeover {
		return "permessage-deflate; server_no_context_takeover" + own
	}
	if bits := o.peerWindowBits(); bits < 15 {
		return "permessage-deflate; server_max_window_bits=" + strconv.Itoa(bits) + own + ", permessage-deflate" + own
	}
	return "permessage-deflate" + own
}

// acceptDeflateResponse checks the server's Sec-WebSocket-Extensions
// against the offer deflateOffer made from o and returns the agreement, or
// nil for none. RFC 6455 §9.1 and RFC 7692 §7 have the client fail the
// connection for an extension it did not offer, a parameter it does not
// know, or one it cannot honour.
//
// The fields of the deflateParams returned read from this side: "server"
// is this side (its compressor's context and window), "client" the server
// (the history kept to inflate what it sends).
func acceptDeflateResponse(values []string, offer string, o *CompressionOptions) (*deflateParams, error) {
	exts, err := parseExtensions(values)
	if err != nil {
		return nil, err
	}
	if len(exts) == 0 {
		return nil, nil
	}
	if offer == "" || len(exts) > 1 || exts[0].name != "permessage-deflate" {
		return nil, errors.New("the server agreed to an extension that was not offered")
	}
	p := deflateParams{
		serverNoContextTakeover: !o.ContextTakeover,
		clientNoContextTakeover: !o.PeerContextTakeover,
		serverMaxWindowBits:     o.windowBits(),
		clientMaxWindowBits:     15,
	}
	askedNoTakeover := !o.PeerContextTakeover
	seen := map[string]bool{}
	for _, param := range exts[0].params {
		if seen[param.name] {
			return nil, fmt.Errorf("permessage-deflate parameter %s given twice", param.name)
		}
		seen[param.name] = true
		switch param.name {
		case "server_no_context_takeover":
			if param.hasValue {
				return nil, errors.New("server_no_context_takeover with a value")
			}
			p.clientNoContextTakeover = true // the server resets: no history to keep
		case "client_no_context_takeover":
			if param.hasValue {
				return nil, errors.New("client_no_context_takeover with a value")
			}
			p.serverNoContextTakeover = true // this side must reset
		case "server_max_window_bits":
			// The server's window is at most this (§7.1.2.1: a server may
			// say so unasked), and so is the history to keep for it. A
			// value larger than the one offered accepts the offer without
			// it, which has none.
			bits, ok := param.windowBits()
			if !ok || !param.hasValue {
				return nil, fmt.Errorf("server_max_window_bits=%q", param.value)
			}
			p.clientMaxWindowBits = bits
		case "client_max_window_bits":
			// Offered: the server may ask for any window, and this side's
			// compressor takes it. The offer's value already promised a
			// window no larger, and §7.1.2.2 lets a server ignore it, so a
			// larger answer (Autobahn's 13.4 and 13.6 answer 15 to any
			// value) changes nothing: the smaller window is kept.
			bits, ok := param.windowBits()
			if !ok || !param.hasValue {
				return nil, fmt.Errorf("client_max_window_bits=%q", param.value)
			}
			p.serverMaxWindowBits = min(p.serverMaxWindowBits, bits)
		default:
			return nil, fmt.Errorf("unknown permessage-deflate parameter %s", param.name)
		}
	}
	if askedNoTakeover && !seen["server_no_context_takeover"] {
		// server_no_context_takeover was asked for; RFC 7692 §7.1.1.1 has
		// the server accept it by echoing it, or decline the offer.
		return nil, errors.New("the server accepted permessage-deflate without server_no_context_takeover, which was asked for")
	}
	return &p, nil
}
