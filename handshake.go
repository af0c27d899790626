package websocket

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"
)

const defaultHandshakeTimeout = 10 * time.Second

// acceptGUID is the fixed string RFC 6455 §1.3 appends to the client's key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value that answers the client's
// Sec-WebSocket-Key: base64(SHA-1(key + the RFC 6455 GUID)).
func AcceptKey(key string) string {
	var b [28]byte
	return string(appendAcceptKey(b[:0], key))
}

func appendAcceptKey(dst []byte, key string) []byte {
	var in [64]byte // a valid key is 24 bytes; longer ones take the slow path
	var sum [sha1.Size]byte
	if len(key)+len(acceptGUID) <= len(in) {
		n := copy(in[:], key)
		n += copy(in[n:], acceptGUID)
		sum = sha1.Sum(in[:n])
	} else {
		sum = sha1.Sum([]byte(key + acceptGUID))
	}
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// IsUpgrade reports whether r asks to upgrade to WebSocket: a GET with
// "websocket" in its Upgrade header and "upgrade" in Connection, or, over
// HTTP/2, a CONNECT whose :protocol is "websocket" (RFC 8441; see
// "HTTP/2" in the package documentation). It does not check the rest of
// the handshake; Upgrade does.
func IsUpgrade(r *http.Request) bool {
	if isExtendedConnect(r) {
		return true
	}
	return r.Method == http.MethodGet &&
		headerHasToken(r.Header, "Upgrade", "websocket") &&
		headerHasToken(r.Header, "Connection", "upgrade")
}

// isExtendedConnect reports whether r asks for a WebSocket over an HTTP/2
// stream (RFC 8441 §4): a CONNECT whose :protocol pseudo-header is
// websocket. net/http delivers such requests only when extended CONNECT
// is turned on (see "HTTP/2" in the package documentation).
func isExtendedConnect(r *http.Request) bool {
	return r.ProtoMajor >= 2 && r.Method == http.MethodConnect && strings.EqualFold(r.Header.Get(":protocol"), "websocket")
}

// headerHasToken reports whether any of the header's values, read as a
// comma-separated list, holds token, case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h[name] {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Upgrade checks that r is a valid WebSocket opening handshake (RFC 6455
// §4.2.1), takes over its connection from net/http and answers 101
// Switching Protocols, returning the WebSocket connection. Headers the
// caller set on w, such as Set-Cookie, go out in the 101 response (the 200
// over HTTP/2), but for those the handshake owns: Upgrade, Connection,
// Content-Type, Content-Length, Transfer-Encoding and the
// Sec-WebSocket-* ones, which say only what was agreed.
//
// A request that is not acceptable gets its answer written for it (405 for
// a method other than GET, 426 for a missing or unknown
// Sec-WebSocket-Version, 403 for a refused origin, 400 for the rest) and
// Upgrade returns a *HandshakeError; errors.Is(err, ErrBadHandshake) holds.
// Either way the caller must not write to w afterwards.
//
// opts may be nil for the defaults. The connection is the caller's to
// close; Server does this for handlers.
//
// Over HTTP/2 (an extended CONNECT, RFC 8441), Upgrade answers 200 and the
// WebSocket runs over the request's stream, which ends when the handler
// that called Upgrade returns: that handler must not return before Close
// or CloseNow has returned (both wait until the stream's ResponseWriter
// is no longer in use; net/http panics on a ResponseWriter used after its
// handler). Server does this for its handlers. A handler that returns
// early ends the WebSocket: the Conn's later writes fail with an error
// matching ErrClosed, though a write that begins at the very moment the
// handler returns may still meet net/http's panic.
func Upgrade(w http.ResponseWriter, r *http.Request, opts *Options) (*Conn, error) {
	if opts == nil {
		opts = &defaultOptions
	}
	if isExtendedConnect(r) {
		return upgradeStream(w, r, opts)
	}
	key, err := checkHandshake(w, r, opts)
	if err != nil {
		he := err.(*HandshakeError)
		opts.logf("websocket: refused %s %s from %s with %d: %s", r.Method, r.URL.RequestURI(), r.RemoteAddr, he.Status, he.Reason)
		return nil, err
	}
	subprotocol := chooseSubprotocol(r, opts.Subprotocols)
	var deflate *deflateParams
	var extensions string
	if opts.Compression != nil {
		if p, resp, ok := agreeDeflate(r, opts.Compression); ok {
			deflate, extensions = &p, resp
		}
	}

	netConn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, refuse(w, http.StatusInternalServerError, "cannot take over the connection: "+err.Error())
	}
	// Bytes the client sent right behind its request may already sit in
	// net/http's reader; they are the start of the WebSocket stream.
	var early []byte
	if n := brw.Reader.Buffered(); n > 0 {
		early, _ = brw.Reader.Peek(n)
	}
	// net/http made a 4 KiB write buffer for the hijacked connection that
	// nothing else will use: the 101 is written from it.
	out := brw.Writer.AvailableBuffer()
	out = appendResponse(out, key, subprotocol, extensions, w.Header())
	timeout := opts.HandshakeTimeout
	if timeout <= 0 {
		timeout = defaultHandshakeTimeout
	}
	netConn.SetDeadline(time.Now().Add(timeout))
	if _, err := netConn.Write(out); err != nil {
		netConn.Close()
		return nil, fmt.Errorf("websocket: writing the handshake response: %w", err)
	}
	netConn.SetDeadline(time.Time{})
	return openConn(netConn, early, subprotocol, opts, deflate, false), nil
}

// checkHandshake validates r and returns its Sec-WebSocket-Key, or writes
// the refusal and returns its error.
func checkHandshake(w http.ResponseWriter, r *http.Request, opts *Options) (string, error) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		return "", refuse(w, http.StatusMethodNotAllowed, "the method must be GET")
	}
	if !r.ProtoAtLeast(1, 1) {
		return "", refuse(w, http.StatusBadRequest, "the request must be HTTP/1.1 or later")
	}
	if r.Host == "" {
		return "", refuse(w, http.StatusBadRequest, "the Host header is missing")
	}
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		return "", refuse(w, http.StatusBadRequest, "the Upgrade header does not ask for websocket")
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") {
		return "", refuse(w, http.StatusBadRequest, "the Connection header does not hold upgrade")
	}
	// RFC 6455 §11.3.1 and §11.3.5: the key and the version may appear
	// only once in a request. Taking the first of several would let two
	// parsers (a proxy's and ours) disagree about the handshake.
	if err := checkVersion(w, r); err != nil {
		return "", err
	}
	keys := r.Header["Sec-Websocket-Key"]
	if len(keys) != 1 || !validKey(keys[0]) {
		return "", refuse(w, http.StatusBadRequest, "Sec-WebSocket-Key must be 16 bytes in base64, once")
	}
	if reason := refuseOrigin(r, opts); reason != "" {
		return "", refuse(w, http.StatusForbidden, reason)
	}
	return keys[0], nil
}

// checkVersion refuses a request whose Sec-WebSocket-Version is not 13,
// once, with 426 and the version this server speaks.
func checkVersion(w http.ResponseWriter, r *http.Request) error {
	if v := r.Header["Sec-Websocket-Version"]; len(v) != 1 || v[0] != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		return refuse(w, http.StatusUpgradeRequired, "Sec-WebSocket-Version must be 13, once")
	}
	return nil
}

// upgradeStream accepts a WebSocket over an HTTP/2 stream (RFC 8441 §5):
// the same version, origin, subprotocol and extension checks as an
// HTTP/1.1 upgrade, no key, and 200 for an answer instead of 101. The
// WebSocket then runs over the stream: the request body one way, the
// response the other.
func upgradeStream(w http.ResponseWriter, r *http.Request, opts *Options) (*Conn, error) {
	err := checkVersion(w, r)
	if err == nil && r.Host == "" {
		err = refuse(w, http.StatusBadRequest, "the :authority is missing")
	}
	if err == nil {
		if reason := refuseOrigin(r, opts); reason != "" {
			err = refuse(w, http.StatusForbidden, reason)
		}
	}
	if err != nil {
		he := err.(*HandshakeError)
		opts.logf("websocket: refused %s %s from %s (HTTP/2) with %d: %s", r.Method, r.URL.RequestURI(), r.RemoteAddr, he.Status, he.Reason)
		return nil, err
	}
	subprotocol := chooseSubprotocol(r, opts.Subprotocols)
	var deflate *deflateParams
	h := w.Header()
	// The caller's headers go out with the 200, as with the 101, but for
	// those the handshake owns: set by hand, they would announce what the
	// Conn did not agree (a subprotocol, an extension) or bound the
	// stream (a Content-Length).
	for name := range h {
		if handshakeOwned(name) {
			delete(h, name)
		}
	}
	if opts.Compression != nil {
		if p, resp, ok := agreeDeflate(r, opts.Compression); ok {
			deflate = &p
			h.Set("Sec-WebSocket-Extensions", resp)
		}
	}
	if subprotocol != "" {
		h.Set("Sec-WebSocket-Protocol", subprotocol)
	}
	s := newStream(w, r)
	// A WebSocket outlives http.Server's per-request deadlines, as a
	// hijacked HTTP/1.1 connection does.
	s.deadlineErr = s.rc.SetReadDeadline(time.Time{})
	s.rc.SetWriteDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	if err := s.rc.Flush(); err != nil {
		return nil, fmt.Errorf("websocket: answering the extended CONNECT: %w", err)
	}
	return openConn(s, nil, subprotocol, opts, deflate, false), nil
}

// validKey reports whether key is the base64 encoding of exactly 16 bytes.
func validKey(key string) bool {
	if len(key) != 24 {
		return false
	}
	var b [18]byte
	n, err := base64.StdEncoding.Decode(b[:], []byte(key))
	return err == nil && n == 16
}

// refuse writes an error response with a one-line reason and returns the
// matching error.
func refuse(w http.ResponseWriter, status int, reason string) error {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	if status == http.StatusUpgradeRequired {
		h.Set("Upgrade", "websocket")
	}
	w.WriteHeader(status)
	w.Write([]byte(reason + "\n"))
	return &HandshakeError{Status: status, Reason: reason}
}

// refuseOrigin applies the origin policy and returns why the request is
// refused, or "" when it may go ahead: the caller's CheckOrigin if set;
// otherwise requests without Origin, those from the request's own host (or
// the proxy's X-Forwarded-Host, if trusted), and those matching
// OriginPatterns. The reason names what would allow the origin, since a
// refusal behind a misconfigured proxy is otherwise hard to explain.
func refuseOrigin(r *http.Request, opts *Options) string {
	if opts.CheckOrigin != nil {
		if opts.CheckOrigin(r) {
			return ""
		}
		return "the origin was refused by Options.CheckOrigin"
	}
	origin := headerValue(r.Header, "Origin")
	if origin == "" {
		return ""
	}
	host, ok := originHost(origin)
	if !ok {
		return fmt.Sprintf("the Origin %q is not scheme://host[:port]", origin)
	}
	if strings.EqualFold(host, r.Host) {
		return ""
	}
	forwarded := ""
	if opts.TrustForwardedHost {
		forwarded = headerValue(r.Header, "X-Forwarded-Host")
		// A proxy chain appends; the first is the one the browser used.
		forwarded, _, _ = strings.Cut(forwarded, ",")
		forwarded = strings.TrimSpace(forwarded)
		if forwarded != "" && strings.EqualFold(host, forwarded) {
			return ""
		}
	}
	if matchOrigin(opts.OriginPatterns, host) {
		return ""
	}
	own := fmt.Sprintf("the request's Host %q", r.Host)
	if forwarded != "" {
		own += fmt.Sprintf(" or X-Forwarded-Host %q", forwarded)
	}
	return fmt.Sprintf("the Origin %q is not allowed: its host %q is not %s and matches no Options.OriginPatterns "+
		"(behind a reverse proxy, forward the Host header with its port, or add %q to OriginPatterns)",
		origin, host, own, host)
}

// matchOrigin reports whether host matches one of the patterns, with
// path.Match and case-insensitively. Brackets are taken literally, so an
// IPv6 host such as "[::1]:8080" can be named: path.Match would read them
// as a character class.
func matchOrigin(patterns []string, host string) bool {
	host = strings.ToLower(host)
	for _, pattern := range patterns {
		pattern = strings.ToLower(pattern)
		if strings.ContainsAny(pattern, "[]") {
			pattern = strings.NewReplacer("[", `\[`, "]", `\]`).Replace(pattern)
		}
		if ok, _ := path.Match(pattern, host); ok {
			return true
		}
	}
	return false
}

// originHost returns the host[:port] of an Origin header, which RFC 6454
// §7 defines as scheme "://" host [ ":" port ] and nothing else; "null" and
// anything with a path, query or user part is refused. Parsing it by hand
// spares url.Parse's allocations on every browser handshake.
func originHost(origin string) (string, bool) {
	_, host, ok := strings.Cut(origin, "://")
	if !ok || host == "" || strings.ContainsAny(host, "/?#@ ") {
		return "", false
	}
	return host, true
}

// headerValue is http.Header.Get for a key already in canonical form: Get
// canonicalizes its argument on every call, which allocates for names such
// as "Sec-WebSocket-Key" whose canonical form differs.
func headerValue(h http.Header, canonicalKey string) string {
	if v := h[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// chooseSubprotocol returns the first of the server's subprotocols that the
// client offered, or "".
func chooseSubprotocol(r *http.Request, server []string) string {
	if len(server) == 0 {
		return ""
	}
	offered := r.Header["Sec-Websocket-Protocol"]
	for _, p := range server {
		for _, v := range offered {
			for v != "" {
				var t string
				t, v, _ = strings.Cut(v, ",")
				if strings.TrimSpace(t) == p {
					return p
				}
			}
		}
	}
	return ""
}

// handshakeOwned reports whether the response header name belongs to the
// handshake, or contradicts a response whose body is the WebSocket: the
// caller's value for it is dropped.
func handshakeOwned(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Upgrade", "Connection", "Sec-Websocket-Accept", "Sec-Websocket-Protocol",
		"Sec-Websocket-Extensions", "Content-Length", "Transfer-Encoding", "Content-Type":
		return true
	}
	return false
}

// appendResponse appends the 101 response to b. Headers the caller set go
// along, except those that belong to the handshake or would contradict a
// response with no body.
func appendResponse(b []byte, key, subprotocol, extensions string, extra http.Header) []byte {
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = appendAcceptKey(b, key)
	b = append(b, "\r\n"...)
	if subprotocol != "" {
		b = append(b, "Sec-WebSocket-Protocol: "...)
		b = append(b, subprotocol...)
		b = append(b, "\r\n"...)
	}
	if extensions != "" {
		b = append(b, "Sec-WebSocket-Extensions: "...)
		b = append(b, extensions...)
		b = append(b, "\r\n"...)
	}
	for name, values := range extra {
		if handshakeOwned(name) {
			continue
		}
		for _, v := range values {
			// Header values cannot carry line breaks; net/http drops them
			// the same way.
			if strings.ContainsAny(v, "\r\n") {
				v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
			}
			b = append(b, name...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}
