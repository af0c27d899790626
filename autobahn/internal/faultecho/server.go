// Package faultecho is a small RFC 6455 echo server, and echo client, for
// testing the conformance suite itself: the server for the suite's client
// role, the client (see Client) for its fuzzingserver role. Without faults
// either is meant to pass every case; each Fault switches on one
// deliberate defect that the suite must catch. It uses only the standard
// library and shares no code with the suite or with the library under
// test.
package faultecho

import (
	"crypto/sha1"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"sync"
)

// Fault is one deliberate deviation from RFC 6455.
type Fault int

const (
	// None: a correct server.
	None Fault = iota
	// NoUTF8Check: text messages and close reasons are not validated.
	NoUTF8Check
	// UTF8AtMessageEnd: text is validated, but only once the whole message
	// has arrived, not as its octets arrive.
	UTF8AtMessageEnd
	// NoCloseEcho: a valid Close frame is ignored instead of answered.
	NoCloseEcho
	// AcceptRSV: frames with reserved bits set are processed as if clear.
	AcceptRSV
	// AcceptUnmasked: client frames without a mask are accepted (server).
	AcceptUnmasked
	// AcceptMasked: server frames with a mask are accepted (client).
	AcceptMasked
)

func (f Fault) String() string {
	switch f {
	case None:
		return "none"
	case NoUTF8Check:
		return "no-utf8-check"
	case UTF8AtMessageEnd:
		return "utf8-at-message-end"
	case NoCloseEcho:
		return "no-close-echo"
	case AcceptRSV:
		return "accept-rsv"
	case AcceptUnmasked:
		return "accept-unmasked"
	case AcceptMasked:
		return "accept-masked"
	}
	return "unknown"
}

// Server is an http.Handler that upgrades every request to a WebSocket
// echo: each message is sent back whole, with its own type.
type Server struct {
	fault Fault

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// New returns an echo server with the given fault (None for a correct one).
func New(fault Fault) *Server {
	return &Server{fault: fault, conns: map[net.Conn]struct{}{}}
}

// Close closes every upgraded connection and waits for their goroutines.
// net/http forgets hijacked connections, so the server tracks its own.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// ServeHTTP performs the server opening handshake of RFC 6455 section 4.2
// and then serves the connection until it closes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	switch {
	case r.Method != http.MethodGet:
		http.Error(w, "WebSocket upgrade needs GET", http.StatusMethodNotAllowed)
		return
	case !hasToken(r.Header, "Connection", "upgrade") || !hasToken(r.Header, "Upgrade", "websocket"):
		http.Error(w, "not a WebSocket upgrade", http.StatusBadRequest)
		return
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "unsupported WebSocket version", http.StatusUpgradeRequired)
		return
	}
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 {
		http.Error(w, "bad Sec-WebSocket-Key", http.StatusBadRequest)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "connection cannot be upgraded", http.StatusInternalServerError)
		return
	}
	netConn, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	if !s.track(netConn) {
		netConn.Close()
		return
	}
	defer s.untrack(netConn)

	sum := sha1.Sum([]byte(key + websocketGUID))
	resp := "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Server: faultecho/" + s.fault.String() + "\r\n" +
		"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"
	if _, err := netConn.Write([]byte(resp)); err != nil {
		netConn.Close()
		return
	}
	c := &conn{fault: s.fault, nc: netConn, r: rw.Reader}
	c.serve()
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
