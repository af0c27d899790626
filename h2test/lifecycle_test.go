package h2test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/wirekit/websocket"
)

// Server.Shutdown says 1001 to every WebSocket, over HTTP/2 as over
// HTTP/1.1: three on one connection, one on another, one over HTTP/1.1.
// Each client gets the Close, answers it, and sees its stream (or TCP
// connection) end; the handlers' reads match ErrShutdown; Shutdown
// returns once they are done. The HTTP/2 connections themselves stay up,
// and a new WebSocket on them is refused with 503.
func TestShutdownOverHTTP2(t *testing.T) {
	ts, e, srv := newEchoServer(t, serverOpts{}, nil)
	cc1, cc2 := ts.dial(t, nil), ts.dial(t, nil)
	var clients []*WS
	for _, cc := range []*ClientConn{cc1, cc1, cc1, cc2} {
		ws, _ := openWS(t, cc, "/echo", nil)
		clients = append(clients, ws)
	}
	h1, _ := ts.dialH1(t, "/echo")
	clients = append(clients, h1)
	// Every handler is running: each has echoed a message.
	for i, ws := range clients {
		if err := ws.WriteText("ready"); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if _, p, err := ws.ReadMessage(nil); err != nil || string(p) != "ready" {
			t.Fatalf("client %d: %q %v", i, p, err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(ctx) }()
	var wg sync.WaitGroup
	for i, ws := range clients {
		wg.Go(func() {
			_, _, err := ws.ReadMessage(nil)
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != 1001 {
				t.Errorf("client %d: %v, want the server's close 1001", i, err)
				return
			}
			if err := ws.ExpectEOF(); err != nil {
				t.Errorf("client %d after the 1001: %v, want the end of its stream", i, err)
			}
		})
	}
	wg.Wait()
	if err := <-shutdown; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range clients {
		if err := e.wait(t, "/echo"); !errors.Is(err, websocket.ErrShutdown) || websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("a handler ended with %v, want ErrShutdown with 1001", err)
		}
	}
	for i, cc := range []*ClientConn{cc1, cc2} {
		if err := cc.Ping(ctx); err != nil {
			t.Errorf("HTTP/2 connection %d after the WebSocket shutdown: %v", i, err)
		}
	}
	_, _, err := cc1.OpenWebSocket(ctx, "/echo", nil)
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusServiceUnavailable {
		t.Fatalf("a WebSocket after Shutdown: %v, want 503", err)
	}
}

// Keepalive pings reach an HTTP/2 WebSocket, and its pongs keep it open;
// one that answers nothing is dropped with ErrKeepalive, and the
// connection it shared goes on.
func TestKeepaliveOverHTTP2(t *testing.T) {
	ts, e, _ := newEchoServer(t, serverOpts{}, func(ws *websocket.Server) {
		ws.Options.PingInterval = 100 * time.Millisecond
		ws.Options.PingTimeout = 300 * time.Millisecond
	})
	cc := ts.dial(t, nil)

	t.Run("answered", func(t *testing.T) {
		ws, _ := openWS(t, cc, "/answered", nil)
		pings := make(chan struct{}, 100)
		ws.OnPing = func([]byte) { pings <- struct{}{} }
		// The reader answers pings while it waits for a message; the
		// message goes out after the third ping.
		read := make(chan error, 1)
		go func() {
			_, p, err := ws.ReadMessage(nil)
			if err == nil && string(p) != "after pings" {
				err = errors.New("echoed " + string(p))
			}
			read <- err
		}()
		timeout := time.After(testTimeout)
		for i := range 3 {
			select {
			case <-pings:
			case <-timeout:
				t.Fatalf("%d pings within %v, want 3", i, testTimeout)
			}
		}
		if err := ws.WriteText("after pings"); err != nil {
			t.Fatal(err)
		}
		if err := <-read; err != nil {
			t.Fatalf("echo after the pings: %v", err)
		}
	})

	t.Run("silent", func(t *testing.T) {
		ws, _ := openWS(t, cc, "/silent", nil)
		// This client reads nothing, so it answers no ping.
		err := e.wait(t, "/silent")
		if !errors.Is(err, websocket.ErrKeepalive) {
			t.Fatalf("the silent client's handler ended with %v, want ErrKeepalive", err)
		}
		// What the client finds when it looks: pings, then the end.
		var end error
		for end == nil {
			_, _, end = ws.ReadMessage(nil)
		}
		t.Logf("the silent client, reading at last: %v", end)
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := cc.Ping(ctx); err != nil {
			t.Fatalf("the connection after the keepalive drop: %v", err)
		}
	})
}

// Options.ReadLimit holds over HTTP/2: a message one byte too long is
// refused with 1009, a message at the limit passes, and the connection
// goes on.
func TestReadLimitOverHTTP2(t *testing.T) {
	const limit = 1024
	ts, e, _ := newEchoServer(t, serverOpts{}, func(ws *websocket.Server) {
		ws.Options.ReadLimit = limit
	})
	cc := ts.dial(t, nil)

	ok, _ := openWS(t, cc, "/echo", nil)
	at := bytes.Repeat([]byte("a"), limit)
	if err := ok.WriteBinary(at); err != nil {
		t.Fatal(err)
	}
	if _, p, err := ok.ReadMessage(nil); err != nil || !bytes.Equal(p, at) {
		t.Fatalf("a message at the limit: %d bytes, %v", len(p), err)
	}

	over, _ := openWS(t, cc, "/echo", nil)
	if err := over.WriteBinary(append(at, 'b')); err != nil {
		t.Fatal(err)
	}
	if _, _, err := over.ReadMessage(nil); CloseCode(err) != 1009 {
		t.Fatalf("a message over the limit: %v, want the server's close 1009", err)
	}
	// The stream ends; over HTTP/1.1 the server closes TCP here. Which
	// way it ends (END_STREAM or a reset) is logged, not judged: the
	// client has its 1009 either way.
	if err := over.ExpectEOF(); err != nil {
		var re *ResetError
		if !errors.As(err, &re) || !re.Remote {
			t.Fatalf("after the 1009: %v, want the stream's end", err)
		}
		t.Logf("after the 1009 the server reset the stream with %v (over HTTP/1.1 it closes TCP with a FIN)", re.Code)
	}
	if err := e.wait(t, "/echo"); !errors.Is(err, websocket.ErrMessageTooBig) {
		t.Fatalf("the handler ended with %v, want ErrMessageTooBig", err)
	}

	// The other WebSocket on the connection is untouched.
	if err := ok.WriteText("still here"); err != nil {
		t.Fatal(err)
	}
	if _, p, err := ok.ReadMessage(nil); err != nil || string(p) != "still here" {
		t.Fatalf("the WebSocket beside the refused one: %q %v", p, err)
	}
}

// Deadlines over HTTP/2, set through the Conn: a read that misses its
// deadline and a write blocked on a client that stopped reading both fail
// the WebSocket with a timeout, end its stream, and leave the connection
// and its other streams alone.
func TestDeadlinesOverHTTP2(t *testing.T) {
	e := newEnded()
	ws := websocket.Handler(func(c *websocket.Conn, r *http.Request) {
		ctx := context.Background()
		var err error
		switch r.URL.Path {
		case "/read":
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			_, _, err = c.ReadMessage(ctx, nil) // the client sends nothing
		case "/write":
			c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
			msg := make([]byte, 64<<10)
			for err == nil { // the client reads nothing
				err = c.WriteMessage(ctx, websocket.MessageBinary, msg)
			}
		default:
			err = echo(c)
		}
		e.add(r.URL.Path, err)
	})
	ts := serve(t, ws, serverOpts{ws: ws})
	cc := ts.dial(t, &Config{StreamWindow: 64 << 10})
	other, _ := openWS(t, cc, "/echo", nil)

	for _, path := range []string{"/read", "/write"} {
		t.Run(path, func(t *testing.T) {
			client, st := openWS(t, cc, path, nil)
			err := e.wait(t, path)
			t.Logf("the handler's error: %v", err)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("the handler ended with %v, want a deadline exceeded", err)
			}
			// The client finds the stream's end (after whatever the
			// handler had sent): a Close, EOF or a reset, never a hang.
			client.Timeout = testTimeout
			var end error
			for end == nil {
				_, _, end = client.ReadMessage(nil)
			}
			t.Logf("the client: %v (stream: %v)", end, st.Err())
			if err := other.WriteText("still here"); err != nil {
				t.Fatal(err)
			}
			if _, p, err := other.ReadMessage(nil); err != nil || string(p) != "still here" {
				t.Fatalf("the WebSocket beside the one that timed out: %q %v", p, err)
			}
		})
	}
}
