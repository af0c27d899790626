package websocket

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// The transport under a Conn: read through its own methods unless it is
// exactly a socket.

// countingConn is what a server might wrap its connections in: a
// *net.TCPConn, embedded, with Read and Write overridden to count bytes.
type countingConn struct {
	*net.TCPConn
	read, written *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.TCPConn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

type countingListener struct {
	net.Listener
	read, written atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c.(*net.TCPConn), &l.read, &l.written}, nil
}

// A connection type that embeds *net.TCPConn and overrides Read and Write
// sees every byte of the WebSocket: the package reads and writes the
// socket itself only when the connection is exactly the socket type.
func TestWrappedConnSeesEveryByte(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &countingListener{Listener: inner}
	s := Handler(echoHandler(nil))
	ts := httptest.NewUnstartedServer(s)
	ts.Listener = ln
	ts.Start()
	t.Cleanup(func() { s.Shutdown(context.Background()); ts.Close() })
	c := dialTest(t, inner.Addr().String(), "/", nil)
	afterHandshake := ln.read.Load()
	msg := bytes.Repeat([]byte("x"), 100<<10)
	c.WriteBinary(msg)
	if _, got, err := c.ReadMessage(nil); err != nil || len(got) != len(msg) {
		t.Fatalf("echo: %d bytes, %v", len(got), err)
	}
	if n := ln.read.Load() - afterHandshake; n < int64(len(msg)) {
		t.Errorf("the wrapper's Read saw %d bytes of a %d-byte message", n, len(msg))
	}
	// The wrapper counts once its Write returns, which may be after the
	// client has the bytes.
	eventually(t, "the wrapper's Write to see the echo", func() bool { return ln.written.Load() >= int64(len(msg)) })
}
