package h2test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/wirekit/websocket"
)

// A client that reads a long message slowly but steadily over HTTP/2 is
// alive, and keepalive keeps it, as it keeps one over TCP (where the
// kernel's acknowledgements show the write moving). Over HTTP/2 the only
// sign of life while the write holds the output is the write's own
// progress, so it must show within PingTimeout: a write that net/http
// takes in one piece of a MiB shows none until the whole MiB has gone,
// which at the pace below takes longer than PingTimeout.
func TestKeepaliveKeepsSlowSteadyReaderOverHTTP2(t *testing.T) {
	const size = 2 << 20
	payload := make([]byte, size) // made before, so the write starts at once
	wrote := make(chan error, 1)
	ws := websocket.Handler(func(c *websocket.Conn, r *http.Request) {
		// Nothing is written before the client asks, and the client
		// answers no ping: none may go out before the write begins.
		_, _, err := c.ReadMessage(context.Background(), nil)
		if err == nil {
			err = c.WriteMessage(context.Background(), websocket.MessageBinary, payload)
		}
		wrote <- err
		c.ReadMessage(context.Background(), nil)
	})
	// PingTimeout is well above what a loaded scheduler may starve the
	// reader for; a MiB at the reader's pace takes over twice as long.
	ws.Options.PingInterval = time.Second
	ws.Options.PingTimeout = 1500 * time.Millisecond
	ts := serve(t, ws, serverOpts{ws: ws})
	cc := ts.dial(t, &Config{StreamWindow: 64 << 10})
	client, st := openWS(t, cc, "/", nil)
	if err := client.WriteText("go"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16<<10)
	n := 0
	start := time.Now()
	st.SetReadDeadline(time.Now().Add(testTimeout))
	for n < size {
		k, err := st.Read(buf)
		n += k
		if err != nil {
			break
		}
		time.Sleep(50 * time.Millisecond) // ~320 KB/s: a slow but live link
	}
	var err error
	select {
	case err = <-wrote:
	case <-time.After(testTimeout):
		t.Fatal("the write did not end")
	}
	t.Logf("peer read %d of %d bytes in %v; write: %v", n, size, time.Since(start).Round(time.Millisecond), err)
	if err != nil {
		t.Errorf("a live peer reading steadily was dropped: %v", err)
	}
}
