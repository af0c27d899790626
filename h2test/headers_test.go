package h2test

import (
	"net/http"
	"testing"

	"github.com/wirekit/websocket"
)

// Headers a handler or a middleware set on the ResponseWriter go out with
// the 200 of an HTTP/2 WebSocket as they go out with the 101 of an
// HTTP/1.1 one, except those the handshake owns, which say only what
// the Conn agreed: a Sec-WebSocket-Protocol or Sec-WebSocket-Extensions
// set by hand would make the client speak a subprotocol or an extension
// the Conn does not, and a Content-Length would bound the stream.
func TestHandshakeOwnsItsHeaders(t *testing.T) {
	subprotocols := make(chan string, 1)
	ws := websocket.Handler(func(c *websocket.Conn, r *http.Request) {
		subprotocols <- c.Subprotocol()
		echo(c)
	})
	ws.Options.PingInterval = -1
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("X-Request-Id", "42")
		hdr.Set("Content-Type", "application/json")
		hdr.Set("Content-Length", "3")
		hdr.Set("Sec-WebSocket-Protocol", "chat")
		hdr.Set("Sec-WebSocket-Extensions", "permessage-deflate")
		ws.ServeHTTP(w, r)
	})
	ts := serve(t, h, serverOpts{ws: ws})
	cc := ts.dial(t, nil)
	client, st := openWS(t, cc, "/", http.Header{"Sec-Websocket-Protocol": {"chat"}})
	resp := st.Response()
	if got := resp.Header.Get("X-Request-Id"); got != "42" {
		t.Errorf("X-Request-Id: %q, want the handler's 42", got)
	}
	sub := <-subprotocols
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != sub {
		t.Errorf("the response says subprotocol %q, the Conn %q", got, sub)
	}
	for _, name := range []string{"Sec-WebSocket-Extensions", "Content-Length", "Content-Type"} {
		if v, ok := resp.Header[http.CanonicalHeaderKey(name)]; ok {
			t.Errorf("the response carries %s: %q, set by hand", name, v)
		}
	}
	msg := "longer than the Content-Length set by hand"
	if err := client.WriteText(msg); err != nil {
		t.Fatal(err)
	}
	if _, p, err := client.ReadMessage(nil); err != nil || string(p) != msg {
		t.Fatalf("echo: %q, %v", p, err)
	}
}
