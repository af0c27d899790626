package h2test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// A Bridge lets an HTTP/1.1 WebSocket client reach a server over HTTP/2:
// it accepts RFC 6455 opening handshakes on a TCP listener, opens an
// extended CONNECT stream (RFC 8441) for each on an HTTP/2 connection it
// shares between them, answers 101 once the server answered 200, and then
// relays the bytes both ways unchanged. A conformance suite written for
// HTTP/1.1 thus tests a server's WebSockets over HTTP/2, frame for frame.
//
// The ends of the two transports map onto each other: the client's FIN
// ends the stream (END_STREAM), and its abrupt close resets it
// (RST_STREAM CANCEL); the server's END_STREAM becomes a FIN to the
// client, and its RST_STREAM a close of the TCP connection, after every
// byte received before it has been passed on.
type Bridge struct {
	// Dial opens the HTTP/2 connection to the server. It is called for
	// the first WebSocket and again whenever the connection has ended.
	Dial func(ctx context.Context) (*ClientConn, error)

	// Timeout bounds each handshake and, once the server has ended a
	// stream, how long the client has to close its side. Zero means 10
	// seconds.
	Timeout time.Duration

	// Logf, if set, receives a line for each failed handshake or relay.
	Logf func(format string, args ...any)

	mu     sync.Mutex
	cc     *ClientConn
	dials  int
	ln     net.Listener
	wg     sync.WaitGroup
	closed bool
	conns  map[net.Conn]struct{}

	streams atomic.Int64
}

// Listen starts the bridge on a loopback port and returns its address.
func (b *Bridge) Listen() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	b.ln = ln
	b.conns = make(map[net.Conn]struct{})
	b.mu.Unlock()
	b.wg.Add(1)
	go b.accept(ln)
	return ln.Addr().String(), nil
}

// Stats returns how many HTTP/2 connections the bridge opened and how
// many WebSocket streams it relayed.
func (b *Bridge) Stats() (conns int, streams int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dials, b.streams.Load()
}

// Close stops the listener, ends every relay and the HTTP/2 connection,
// and waits for the relays to return.
func (b *Bridge) Close() error {
	b.mu.Lock()
	b.closed = true
	ln := b.ln
	for c := range b.conns {
		c.Close()
	}
	cc := b.cc
	b.mu.Unlock()
	var err error
	if ln != nil {
		err = ln.Close()
	}
	b.wg.Wait()
	if cc != nil {
		cc.Close()
	}
	return err
}

func (b *Bridge) timeout() time.Duration {
	if b.Timeout > 0 {
		return b.Timeout
	}
	return defaultTimeout
}

func (b *Bridge) logf(format string, args ...any) {
	if b.Logf != nil {
		b.Logf(format, args...)
	}
}

func (b *Bridge) accept(ln net.Listener) {
	defer b.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			nc.Close()
			return
		}
		b.conns[nc] = struct{}{}
		b.wg.Add(1)
		b.mu.Unlock()
		go func() {
			defer b.wg.Done()
			b.serve(nc)
			b.mu.Lock()
			delete(b.conns, nc)
			b.mu.Unlock()
			nc.Close()
		}()
	}
}

// conn returns the shared HTTP/2 connection, dialing a new one if there
// is none or the last has ended or been told GOAWAY.
func (b *Bridge) conn(ctx context.Context) (*ClientConn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cc != nil && b.cc.Err() == nil && b.cc.GoAway() == nil {
		return b.cc, nil
	}
	if b.cc != nil {
		go b.cc.Close()
	}
	cc, err := b.Dial(ctx)
	if err != nil {
		return nil, err
	}
	b.cc = cc
	b.dials++
	return cc, nil
}

// hopHeaders are the HTTP/1.1 handshake's own headers, which have no
// place in an extended CONNECT (RFC 8441 §4, RFC 9113 §8.2.2).
var hopHeaders = map[string]bool{
	"Host": true, "Upgrade": true, "Connection": true, "Sec-Websocket-Key": true,
	"Keep-Alive": true, "Proxy-Connection": true, "Transfer-Encoding": true, "Te": true,
	"Content-Length": true,
}

// serve handles one client connection: handshake, then relay.
func (b *Bridge) serve(nc net.Conn) {
	nc.SetDeadline(time.Now().Add(b.timeout()))
	br := bufio.NewReaderSize(nc, 32<<10)
	req, err := http.ReadRequest(br)
	if err != nil {
		b.logf("bridge: reading the handshake from %s: %v", nc.RemoteAddr(), err)
		return
	}
	key := req.Header.Get("Sec-WebSocket-Key")
	if req.Method != http.MethodGet || key == "" {
		fmt.Fprint(nc, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	hdr := make(http.Header)
	for name, vs := range req.Header {
		if !hopHeaders[name] {
			hdr[name] = vs
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout())
	defer cancel()
	cc, err := b.conn(ctx)
	if err != nil {
		b.logf("bridge: HTTP/2 connection: %v", err)
		fmt.Fprint(nc, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	st, resp, err := cc.OpenWebSocket(ctx, req.URL.RequestURI(), hdr)
	if err != nil {
		var he *HandshakeError
		if errors.As(err, &he) {
			fmt.Fprintf(nc, "HTTP/1.1 %d %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
				he.Status, http.StatusText(he.Status), len(he.Body), he.Body)
			return
		}
		b.logf("bridge: extended CONNECT: %v", err)
		fmt.Fprint(nc, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	defer st.Close()
	b.streams.Add(1)
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	var head strings.Builder
	head.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
	fmt.Fprintf(&head, "Sec-WebSocket-Accept: %s\r\n", base64.StdEncoding.EncodeToString(sum[:]))
	for _, name := range []string{"Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions", "Server"} {
		for _, v := range resp.Header.Values(name) {
			fmt.Fprintf(&head, "%s: %s\r\n", name, v)
		}
	}
	head.WriteString("\r\n")
	if _, err := io.WriteString(nc, head.String()); err != nil {
		st.Reset(http2.ErrCodeCancel)
		return
	}
	nc.SetDeadline(time.Time{})
	b.relay(nc, br, st)
}

// relay copies bytes both ways until both have ended.
func (b *Bridge) relay(nc net.Conn, br *bufio.Reader, st *Stream) {
	tcp, _ := nc.(*net.TCPConn)
	upDone := make(chan struct{})
	// Client to server: what the client sends, including what followed
	// its handshake in br's buffer. Its FIN ends the stream; anything
	// else (a reset, the bridge closing the socket) resets it.
	go func() {
		defer close(upDone)
		_, err := io.Copy(st, br)
		switch {
		case err == nil:
			st.CloseWrite()
		case errors.Is(err, net.ErrClosed) || st.Err() != nil:
			// The stream or the socket ended from the other side.
		default:
			st.Reset(http2.ErrCodeCancel)
		}
	}()
	// Server to client. Its END_STREAM is a FIN; then the client has
	// Timeout to close its side (the upward copy sees the EOF). A reset
	// closes the socket, after the bytes that came before it.
	_, err := io.Copy(nc, st)
	var re *ResetError
	switch {
	case err == nil && tcp != nil:
		tcp.CloseWrite()
		select {
		case <-upDone:
		case <-time.After(b.timeout()):
			b.logf("bridge: the client kept its side open %v after the server ended the stream", b.timeout())
		}
	case errors.As(err, &re):
		// Fall through to the close.
	case err != nil:
		b.logf("bridge: relaying to %s: %v", nc.RemoteAddr(), err)
	}
	nc.Close()
	st.Close()
	<-upDone
}
