package h2test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/wirekit/websocket"
)

// A handler that calls Upgrade, hands the Conn to a goroutine and returns
// at once, as HTTP/1.1 code often does (gorilla's chat example does), ends
// the HTTP/2 stream when it returns: net/http finishes the response. The
// Conn's writes after that must fail with an error, not reach the
// ResponseWriter, on which net/http panics ("Write called after Handler
// finished"); a keepalive ping would do that from a timer's goroutine
// and take the whole process down.
func TestUpgradeHandlerReturnsWithoutClose(t *testing.T) {
	conns := make(chan *websocket.Conn, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, &websocket.Options{PingInterval: -1})
		if err != nil {
			return
		}
		conns <- c // and return without Close
	})
	ts := serve(t, h, serverOpts{})
	cc := ts.dial(t, nil)
	client, _ := openWS(t, cc, "/", nil)
	var c *websocket.Conn
	select {
	case c = <-conns:
	case <-cc.Done():
		t.Fatal(cc.Err())
	}
	// The stream's end reaches the client once the handler has returned.
	if _, _, err := client.ReadMessage(nil); err == nil {
		t.Fatal("a message from a handler that returned")
	}

	wrote := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				wrote <- fmt.Errorf("panic: %v", v)
			}
		}()
		wrote <- c.WriteMessage(context.Background(), websocket.MessageText, []byte("too late"))
	}()
	err := <-wrote
	t.Logf("the write after the handler returned: %v", err)
	if !errors.Is(err, websocket.ErrClosed) {
		t.Fatalf("the write after the handler returned: %v, want an error matching ErrClosed", err)
	}
	if err := c.CloseNow(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := cc.Ping(ctx); err != nil {
		t.Fatalf("the connection after: %v", err)
	}
}

// A middleware's own deadline on the request's context (a timeout
// middleware's) is not the stream's end: the WebSocket behind it goes on
// over HTTP/2, as a hijacked HTTP/1.1 connection does, after the deadline
// has passed.
func TestRequestContextDeadlineDoesNotEndStream(t *testing.T) {
	ws := websocket.Handler(func(c *websocket.Conn, r *http.Request) { echo(c) })
	ws.Options.PingInterval = -1
	expired := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithDeadline(r.Context(), time.Now()) // passed already
		defer cancel()
		ws.ServeHTTP(w, r.WithContext(ctx))
	})
	ts := serve(t, expired, serverOpts{ws: ws})
	cc := ts.dial(t, nil)
	client, _ := openWS(t, cc, "/", nil)
	for _, msg := range []string{"one", "two"} {
		if err := client.WriteText(msg); err != nil {
			t.Fatal(err)
		}
		if _, p, err := client.ReadMessage(nil); err != nil || string(p) != msg {
			t.Fatalf("echo of %q behind a middleware whose deadline passed: %q, %v", msg, p, err)
		}
	}
	if err := client.Close(1000, ""); CloseCode(err) != 1000 {
		t.Fatalf("closing: %v, want the server's 1000", err)
	}
}
