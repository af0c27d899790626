// Package echotest serves deliberately faulty echoes, to prove that the
// load generator notices every kind of wrong answer.
package echotest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// Fault changes message n (counted from 0 on each connection) before it is
// echoed: it returns the message type and payload to send back.
type Fault func(n int, msgType int, p []byte) (int, []byte)

// Faults are the wrong echoes a correct load generator must reject.
var Faults = map[string]Fault{
	"flipped byte": func(n, t int, p []byte) (int, []byte) {
		if n == 2 {
			p[len(p)/2] ^= 0x01
		}
		return t, p
	},
	"swapped type": func(n, t int, p []byte) (int, []byte) {
		if n == 2 {
			t = websocket.TextMessage + websocket.BinaryMessage - t
		}
		return t, p
	},
	"truncated": func(n, t int, p []byte) (int, []byte) {
		if n == 2 {
			p = p[:len(p)-1]
		}
		return t, p
	},
	"stale message": func(n, t int, p []byte) (int, []byte) {
		if n == 2 {
			// A server reusing the wrong buffer sends back an earlier
			// message of the same type: same length, same body, only the
			// sequence number differs.
			copy(p, strings.Repeat("0", 16))
		}
		return t, p
	},
}

// Serve starts an echo server on loopback that applies fault to what it
// echoes (nil: a faithful echo) and returns its address. The server is
// closed when the test ends.
func Serve(tb testing.TB, fault Fault) string {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for n := 0; ; n++ {
			t, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if fault != nil {
				t, p = fault(n, t, p)
			}
			if err := c.WriteMessage(t, p); err != nil {
				return
			}
		}
	}))
	tb.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}
