package h2test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/wirekit/websocket"
	"golang.org/x/net/http2"
)

// A client that resets its stream (RST_STREAM, as a browser does when a
// tab dies mid-connection) ends that WebSocket on the server: the
// handler's read returns an error that says the peer reset the stream,
// whether the handler was waiting to read or blocked writing to a client
// that stopped reading. The Server lets go of the connection, and the TCP
// connection, which other streams share, goes on.
func TestResetByPeer(t *testing.T) {
	for _, tc := range []struct {
		name string
		// before brings the handler to where the reset should find it.
		before func(t *testing.T, ws *WS, st *Stream)
	}{
		{"while the handler reads", func(t *testing.T, ws *WS, st *Stream) {
			if err := ws.WriteText("hello"); err != nil {
				t.Fatal(err)
			}
			if _, p, err := ws.ReadMessage(nil); err != nil || string(p) != "hello" {
				t.Fatalf("echo before the reset: %q %v", p, err)
			}
		}},
		{"while the handler writes to a client that stopped reading", func(t *testing.T, ws *WS, st *Stream) {
			// 4 MiB echoed to a client whose window is 64 KiB and that
			// reads nothing: once the window is full, the handler waits
			// in a write.
			go ws.WriteBinary(bytes.Repeat([]byte("z"), 4<<20)) // fails once reset
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if err := st.WaitBuffered(ctx, 64<<10); err != nil {
				t.Fatalf("waiting for the echo to fill the window: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, e, srv := newEchoServer(t, serverOpts{}, nil)
			cc := ts.dial(t, &Config{StreamWindow: 64 << 10})
			ws, st := openWS(t, cc, "/echo", nil)
			tc.before(t, ws, st)
			if err := st.Reset(http2.ErrCodeCancel); err != nil {
				t.Fatal(err)
			}
			err := e.wait(t, "/echo")
			t.Logf("the handler's read after RST_STREAM(CANCEL): %v", err)
			if err == nil {
				t.Fatal("the handler ended without an error after the reset")
			}
			if code := websocket.CloseStatus(err); code != 0 {
				t.Errorf("the handler's error %v carries close code %d; no Close frame was exchanged", err, code)
			}
			// Clear: the error says the peer reset the stream (RST_STREAM
			// with CANCEL), not merely that something closed, which
			// reads like an orderly end.
			if msg := strings.ToLower(err.Error()); !strings.Contains(msg, "cancel") && !strings.Contains(msg, "reset") {
				t.Errorf("the handler's error %q does not say that the peer reset the stream", err)
			}
			e.wait(t, "served:/echo")
			if n := srv.Conns(); n != 0 {
				t.Errorf("the Server still counts %d connections", n)
			}
			// The connection goes on.
			ws2, _ := openWS(t, cc, "/echo", nil)
			if err := ws2.WriteText("after"); err != nil {
				t.Fatal(err)
			}
			if _, p, err := ws2.ReadMessage(nil); err != nil || string(p) != "after" {
				t.Fatalf("a WebSocket after the reset: %q %v", p, err)
			}
			if n := ts.conns.Load(); n != 1 {
				t.Errorf("the server saw %d TCP connections, want 1", n)
			}
		})
	}
}

// A handler that drops its connection (CloseNow, no closing handshake)
// ends the stream abruptly: the client sees the stream reset or ended
// with no Close frame, as a TCP client sees a reset or EOF, and the
// connection goes on.
func TestCloseNowOverHTTP2(t *testing.T) {
	ws := websocket.Handler(func(c *websocket.Conn, r *http.Request) {
		if _, _, err := c.ReadMessage(context.Background(), nil); err != nil {
			return
		}
		c.CloseNow()
	})
	ts := serve(t, ws, serverOpts{ws: ws})
	cc := ts.dial(t, nil)
	client, st := openWS(t, cc, "/", nil)
	if err := client.WriteText("drop me"); err != nil {
		t.Fatal(err)
	}
	_, _, err := client.ReadMessage(nil)
	t.Logf("the client's read after the server's CloseNow: %v", err)
	if err == nil || CloseCode(err) != 0 {
		t.Fatalf("read after CloseNow: %v, want the stream's end without a Close frame", err)
	}
	var re *ResetError
	if errors.As(err, &re) {
		t.Logf("the stream was reset with %v", re.Code)
	}
	st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := cc.Ping(ctx); err != nil {
		t.Fatalf("the connection after CloseNow: %v", err)
	}
}
