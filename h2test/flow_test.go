package h2test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/wirekit/websocket"
)

// A client that stops reading one WebSocket stalls only that one. The
// server floods /flood with numbered messages; the client reads none, so
// the stream's window (64 KiB here) fills and the handler's writes wait.
// Meanwhile another WebSocket on the same connection echoes messages far
// larger than that window, and an ordinary request is answered. Then the
// client reads the flood: every message, in order, and the server's Close.
func TestSlowReaderDoesNotStallOthers(t *testing.T) {
	const floodN, floodSize = 64, 32 << 10 // 2 MiB: far beyond what can wait in windows and buffers
	var sent atomic.Int64
	e := newEnded()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) })
	ws := websocket.Wrap(mux, func(c *websocket.Conn, r *http.Request) {
		if r.URL.Path != "/flood" {
			e.add(r.URL.Path, echo(c))
			return
		}
		ctx := context.Background()
		msg := make([]byte, floodSize)
		for i := range floodN {
			binary.BigEndian.PutUint32(msg, uint32(i))
			if err := c.WriteMessage(ctx, websocket.MessageBinary, msg); err != nil {
				e.add(r.URL.Path, err)
				return
			}
			sent.Add(1)
		}
		e.add(r.URL.Path, c.Close(websocket.StatusNormalClosure, "flood done"))
	})
	ts := serve(t, ws, serverOpts{ws: ws})
	const window = 64 << 10
	cc := ts.dial(t, &Config{StreamWindow: window})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	flood, floodSt := openWS(t, cc, "/flood", nil)
	if err := floodSt.WaitBuffered(ctx, window); err != nil {
		t.Fatalf("waiting for the flood to fill its window: %v", err)
	}
	stalled := sent.Load()
	if stalled >= floodN {
		t.Fatalf("the server sent all %d messages to a client that read none", floodN)
	}

	// The other WebSocket: 1 MiB each way, sixteen times the stalled
	// stream's window, and small messages.
	other, _ := openWS(t, cc, "/echo", nil)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	for i := range 20 {
		msg := big
		if i%2 == 1 {
			msg = fmt.Appendf(nil, "small %d", i)
		}
		wrote := make(chan error, 1)
		go func() { wrote <- other.WriteBinary(msg) }()
		op, got, err := other.ReadMessage(nil)
		if werr := <-wrote; werr != nil || err != nil || op != OpBinary || !bytes.Equal(got, msg) {
			t.Fatalf("echo %d beside the stalled stream: write %v, read %v, %d of %d bytes", i, werr, err, len(got), len(msg))
		}
	}
	if resp, err := cc.Do(ctx, http.MethodGet, "/hello", nil, nil); err != nil || resp.Status != 200 || string(resp.Body) != "hello" {
		t.Fatalf("a request beside the stalled stream: %v %v", resp, err)
	}
	if now := sent.Load(); now != stalled {
		t.Fatalf("the flood went from %d to %d messages while its reader read nothing", stalled, now)
	}
	if err := other.Close(1000, ""); CloseCode(err) != 1000 {
		t.Fatalf("closing the echo: %v", err)
	}

	// Now the flood, whole and in order.
	var buf []byte
	for i := range floodN {
		op, got, err := flood.ReadMessage(buf)
		if err != nil || op != OpBinary || len(got) != floodSize || binary.BigEndian.Uint32(got) != uint32(i) {
			t.Fatalf("flood message %d: %#x, %d bytes, %v", i, op, len(got), err)
		}
		buf = got
	}
	if _, _, err := flood.ReadMessage(nil); CloseCode(err) != 1000 {
		t.Fatalf("after the flood: %v, want the server's close 1000", err)
	}
	if err := flood.ExpectEOF(); err != nil {
		t.Fatalf("after the flood's close: %v", err)
	}
	if err := e.wait(t, "/flood"); err != nil {
		t.Fatalf("the flood handler ended with %v", err)
	}
}

// The other direction: a handler that stops reading. Its stream's data
// waits in net/http, which gives the connection's window back only as the
// handler reads. With net/http's defaults the stream and the connection
// both get 1 MiB, so one stuck handler takes the whole connection window
// and no other stream, WebSocket or upload, can send the server anything
// until it reads again. With http.Server.HTTP2 giving each stream less
// than the connection (256 KiB of 4 MiB here) the others go on.
func TestStuckHandler(t *testing.T) {
	run := func(t *testing.T, h2 *http.HTTP2Config) (cc *ClientConn, stuck *Stream, release func()) {
		released := make(chan struct{})
		ws := websocket.Handler(func(c *websocket.Conn, r *http.Request) {
			if r.URL.Path == "/stuck" {
				<-released
			}
			echo(c)
		})
		ts := serve(t, ws, serverOpts{ws: ws, h2: h2})
		cc = ts.dial(t, nil)
		_, stuck = openWS(t, cc, "/stuck", nil)
		go stuck.Write(make([]byte, 8<<20)) // ends with an error when the test ends
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := stuck.WaitSendWindow(ctx, 0); err != nil {
			t.Fatalf("waiting for the stuck stream's window to run out: %v (stream %d, connection %d)", err, stuck.SendWindow(), cc.SendWindow())
		}
		return cc, stuck, func() { close(released) }
	}
	echoOnce := func(t *testing.T, cc *ClientConn) {
		t.Helper()
		ws, _ := openWS(t, cc, "/echo", nil)
		msg := bytes.Repeat([]byte("x"), 100<<10)
		if err := ws.WriteBinary(msg); err != nil {
			t.Fatalf("echo beside the stuck handler: write: %v", err)
		}
		if _, got, err := ws.ReadMessage(nil); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo beside the stuck handler: %d bytes, %v", len(got), err)
		}
	}

	t.Run("net/http defaults", func(t *testing.T) {
		cc, _, release := run(t, nil)
		if w := cc.SendWindow(); w != 0 {
			t.Fatalf("the connection window is %d with the stuck stream's window at 0; want 0, as net/http's defaults give both 1 MiB", w)
		}
		// Nothing can be sent until the handler reads again.
		release()
		echoOnce(t, cc)
	})

	t.Run("per-stream window below the connection's", func(t *testing.T) {
		cc, _, release := run(t, &http.HTTP2Config{
			MaxReceiveBufferPerStream:     256 << 10,
			MaxReceiveBufferPerConnection: 4 << 20,
		})
		defer release()
		if w := cc.SendWindow(); w < 1<<20 {
			t.Fatalf("the connection window is %d with the stuck stream's window at 0; want the rest of 4 MiB", w)
		}
		echoOnce(t, cc)
	})
}
