package h2test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/wirekit/websocket"
)

// testHandlers is the library server the tests talk to, by path:
//
//	/echo           echoes every message
//	/server-closes  echoes one message, then closes with 1000 "done"
//
// The error that ended each handler is recorded by path, and each handler
// checks that it runs over the protocol its request came with.
func testHandlers(t testing.TB, e *ended) func(*websocket.Conn, *http.Request) {
	return func(c *websocket.Conn, r *http.Request) {
		var err error
		switch r.URL.Path {
		case "/server-closes":
			ctx := context.Background()
			var typ websocket.MessageType
			var p []byte
			if typ, p, err = c.ReadMessage(ctx, nil); err == nil {
				if err = c.WriteMessage(ctx, typ, p); err == nil {
					err = c.Close(websocket.StatusNormalClosure, "done")
				}
			}
		default:
			err = echo(c)
		}
		e.add(r.URL.Path, err)
	}
}

// newEchoServer serves testHandlers with the library's Server; setup, if
// not nil, adjusts the Server before it serves.
func newEchoServer(t testing.TB, o serverOpts, setup func(*websocket.Server)) (*testServer, *ended, *websocket.Server) {
	t.Helper()
	e := newEnded()
	ws := websocket.Handler(testHandlers(t, e))
	if setup != nil {
		setup(ws)
	}
	o.ws = ws
	// "served:PATH" is recorded when ServeHTTP returns: the Server has let
	// go of the connection, and over HTTP/2 its stream has ended.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws.ServeHTTP(w, r)
		e.add("served:"+r.URL.Path, nil)
	})
	return serve(t, h, o), e, ws
}

// echoCases are the messages every transport must echo: text and binary,
// empty to several MiB, across the frame-length boundaries of RFC 6455
// and HTTP/2's 16 KiB frames and 64 KiB initial window.
func echoCases() []struct {
	name string
	op   byte
	p    []byte
} {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		return p
	}
	cases := []struct {
		name string
		op   byte
		p    []byte
	}{
		{"text empty", OpText, []byte{}},
		{"text ascii", OpText, []byte("hello over HTTP/2")},
		{"text 4-byte UTF-8", OpText, []byte("𝄞 music, ünïcödé")},
		{"text 1 MiB", OpText, bytes.Repeat([]byte("héllo wörld 𝄞 "), (1<<20)/18)},
	}
	for _, n := range []int{0, 1, 125, 126, 16383, 16384, 16385, 65535, 65536, 1 << 20, 5 << 20} {
		cases = append(cases, struct {
			name string
			op   byte
			p    []byte
		}{fmt.Sprintf("binary %d", n), OpBinary, random(n)})
	}
	return cases
}

// roundTrip sends each case and checks that it comes back whole, with its
// type. Each message is written while the echo is read, as a real client
// must: the server streams a long message back before it has all of it,
// and once both ways' windows and buffers are full a writer that does not
// read waits forever.
func roundTrip(t *testing.T, ws *WS) {
	t.Helper()
	var buf []byte
	for _, tc := range echoCases() {
		wrote := make(chan error, 1)
		go func() { wrote <- ws.WriteMessage(tc.op, tc.p) }()
		op, got, err := ws.ReadMessage(buf)
		if werr := <-wrote; werr != nil {
			t.Fatalf("%s: write: %v", tc.name, werr)
		}
		if err != nil {
			t.Fatalf("%s: read: %v", tc.name, err)
		}
		if op != tc.op || !bytes.Equal(got, tc.p) {
			t.Fatalf("%s: got opcode %#x and %d bytes, want %#x and %d bytes", tc.name, op, len(got), tc.op, len(tc.p))
		}
		buf = got
	}
}

// wantClose checks that a handler ended with the peer's Close of code.
func wantClose(t *testing.T, err error, code websocket.StatusCode) {
	t.Helper()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || ce.Local {
		t.Fatalf("the handler ended with %v, want the peer's close %d", err, code)
	}
}

// Text and binary messages, empty to 5 MiB, come back whole over HTTP/2,
// TLS and cleartext, as they do over HTTP/1.1 (the reference subtest, run
// with the same client code). The closing handshake works both ways; over
// HTTP/2 a clean close ends the stream, not the connection: a PING still
// gets its answer, the next WebSocket on the connection works, and the
// server never saw a second TCP connection.
func TestEcho(t *testing.T) {
	for _, tc := range []struct {
		name  string
		clear bool
	}{{"h2 TLS", false}, {"h2c", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ts, e, _ := newEchoServer(t, serverOpts{clear: tc.clear}, nil)
			cc := ts.dial(t, nil)

			ws, st := openWS(t, cc, "/echo", nil)
			roundTrip(t, ws)
			// The client closes.
			if err := ws.Close(1000, "bye"); CloseCode(err) != 1000 {
				t.Fatalf("close: %v, want the server's 1000", err)
			}
			if err := ws.ExpectEOF(); err != nil {
				t.Fatalf("after the closing handshake: %v, want the stream's end", err)
			}
			st.Close()
			wantClose(t, e.wait(t, "/echo"), websocket.StatusNormalClosure)
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if err := cc.Ping(ctx); err != nil {
				t.Fatalf("the connection after a clean close: %v", err)
			}

			// A second WebSocket on the same connection; the server closes.
			ws2, st2 := openWS(t, cc, "/server-closes", nil)
			if err := ws2.WriteText("once"); err != nil {
				t.Fatal(err)
			}
			if op, p, err := ws2.ReadMessage(nil); err != nil || op != OpText || string(p) != "once" {
				t.Fatalf("second WebSocket: %#x %q %v", op, p, err)
			}
			if _, _, err := ws2.ReadMessage(nil); CloseCode(err) != 1000 {
				t.Fatalf("second WebSocket: %v, want the server's close 1000", err)
			}
			if err := ws2.ExpectEOF(); err != nil {
				t.Fatalf("second WebSocket after the server's close: %v, want the stream's end", err)
			}
			st2.Close()
			if err := e.wait(t, "/server-closes"); err != nil {
				t.Fatalf("the handler that closed got %v", err)
			}

			// And a third, after both ways of closing.
			ws3, _ := openWS(t, cc, "/echo", nil)
			if err := ws3.WriteBinary([]byte{1, 2, 3}); err != nil {
				t.Fatal(err)
			}
			if op, p, err := ws3.ReadMessage(nil); err != nil || op != OpBinary || !bytes.Equal(p, []byte{1, 2, 3}) {
				t.Fatalf("third WebSocket: %#x %v %v", op, p, err)
			}
			if n := ts.conns.Load(); n != 1 {
				t.Fatalf("the server saw %d TCP connections, want 1", n)
			}
		})
	}

	// The reference: the same cases and close over HTTP/1.1, same client.
	t.Run("h1 TLS", func(t *testing.T) {
		ts, e, _ := newEchoServer(t, serverOpts{}, nil)
		ws, _ := ts.dialH1(t, "/echo")
		roundTrip(t, ws)
		if err := ws.Close(1000, "bye"); CloseCode(err) != 1000 {
			t.Fatalf("close: %v, want the server's 1000", err)
		}
		if err := ws.ExpectEOF(); err != nil {
			t.Fatalf("after the closing handshake: %v, want the connection's end", err)
		}
		wantClose(t, e.wait(t, "/echo"), websocket.StatusNormalClosure)
	})
}

// Fragmented messages over HTTP/2: a text message in many frames, split
// inside multi-byte runes and with pings between the fragments, and a
// binary message whose frames straddle HTTP/2's 16 KiB DATA frames, come
// back whole; the pings are answered on the way.
func TestFragmentedEcho(t *testing.T) {
	ts, e, _ := newEchoServer(t, serverOpts{}, nil)
	cc := ts.dial(t, nil)
	ws, _ := openWS(t, cc, "/echo", nil)

	text := []byte(strings.Repeat("fragments 𝄞 ünïcödé ", 200))
	var frames [][]byte
	for i := 0; i < len(text); i += 7 { // 7 bytes: most cuts fall inside a rune
		frames = append(frames, text[i:min(i+7, len(text))])
	}
	for i, f := range frames {
		op := byte(OpContinuation)
		if i == 0 {
			op = OpText
		}
		if err := ws.WriteFrame(i == len(frames)-1, op, f); err != nil {
			t.Fatal(err)
		}
		if i%50 == 25 {
			if err := ws.WriteFrame(true, OpPing, []byte("between fragments")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if op, p, err := ws.ReadMessage(nil); err != nil || op != OpText || !bytes.Equal(p, text) {
		t.Fatalf("fragmented text: %#x, %d of %d bytes, %v", op, len(p), len(text), err)
	}

	bin := make([]byte, 200_000)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	sizes := []int{1, 16383, 16385, 40000, 1}
	wrote := make(chan error, 1)
	go func() {
		off := 0
		for i, n := range sizes {
			if i == len(sizes)-1 {
				n = len(bin) - off
			}
			op := byte(OpContinuation)
			if i == 0 {
				op = OpBinary
			}
			if err := ws.WriteFrame(i == len(sizes)-1, op, bin[off:off+n]); err != nil {
				wrote <- err
				return
			}
			off += n
		}
		wrote <- nil
	}()
	op, p, err := ws.ReadMessage(nil)
	if werr := <-wrote; werr != nil {
		t.Fatal(werr)
	}
	if err != nil || op != OpBinary || !bytes.Equal(p, bin) {
		t.Fatalf("fragmented binary: %#x, %d of %d bytes, %v", op, len(p), len(bin), err)
	}
	if err := ws.Close(1000, ""); CloseCode(err) != 1000 {
		t.Fatalf("close: %v", err)
	}
	wantClose(t, e.wait(t, "/echo"), websocket.StatusNormalClosure)
}
