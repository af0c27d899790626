package h2test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/wirekit/websocket"
)

// A deadline bounds the reads or writes made before it passes, as
// net.Conn's does: one that passes while nothing is read or written, and
// is moved or lifted before the next read or write, ends nothing. The
// common pattern it protects is a write deadline set before each write
// and never cleared, on a connection that then goes quiet for longer: it
// must not end the WebSocket. Over HTTP/2 net/http resets the stream
// when its deadline passes, in use or not, so the Conn gives it a
// deadline only while a read or write is in progress. The same handler,
// over HTTP/1.1 and HTTP/2, lets a deadline pass while idle (one in the
// past, which net/http acts on at once as it does on one that elapses),
// lifts it, and echoes.
func TestDeadlinePassedWhileIdle(t *testing.T) {
	past := func() time.Time { return time.Now().Add(-time.Second) }
	e := newEnded()
	ws := websocket.Handler(func(c *websocket.Conn, r *http.Request) {
		ctx := context.Background()
		typ, p, err := c.ReadMessage(ctx, nil)
		if err == nil {
			switch r.URL.Path {
			case "/write":
				c.SetWriteDeadline(past())
				c.SetWriteDeadline(time.Time{})
			case "/read":
				c.SetReadDeadline(past())
				c.SetReadDeadline(time.Time{})
			}
			err = c.WriteMessage(ctx, typ, p)
		}
		if err == nil {
			err = echo(c)
		}
		e.add(r.URL.Path, err)
	})
	ts := serve(t, ws, serverOpts{ws: ws})
	cc := ts.dial(t, nil)

	for _, proto := range []string{"HTTP/1.1", "HTTP/2"} {
		for _, path := range []string{"/write", "/read"} {
			t.Run(proto+path, func(t *testing.T) {
				var client *WS
				if proto == "HTTP/2" {
					client, _ = openWS(t, cc, path, nil)
				} else {
					client, _ = ts.dialH1(t, path)
				}
				for _, msg := range []string{"before the deadline", "after it passed and was lifted"} {
					if err := client.WriteText(msg); err != nil {
						t.Fatalf("sending %q: %v", msg, err)
					}
					if _, p, err := client.ReadMessage(nil); err != nil || string(p) != msg {
						t.Fatalf("echo of %q: %q, %v", msg, p, err)
					}
				}
				if err := client.Close(1000, ""); CloseCode(err) != 1000 {
					t.Fatalf("closing: %v, want the server's 1000", err)
				}
				wantClose(t, e.wait(t, path), websocket.StatusNormalClosure)
			})
		}
	}
}
