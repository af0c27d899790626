package h2test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"

	"github.com/wirekit/websocket"
)

// A seen records, for every request the server handled, the client's
// address and the protocol, so a test can tell which shared a connection.
type seen struct {
	mu     sync.Mutex
	remote map[string]int
	protos map[string]int
}

func newSeen() *seen { return &seen{remote: map[string]int{}, protos: map[string]int{}} }

func (s *seen) add(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remote[r.RemoteAddr]++
	s.protos[r.Proto]++
}

// Several WebSockets and ordinary requests at once, all on one TCP
// connection: each WebSocket gets its own messages back, in order, each
// request its own response, and the server saw one connection, one client
// address and nothing but HTTP/2.
func TestMultiplex(t *testing.T) {
	const sockets, requests, messages = 8, 24, 40
	s := newSeen()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello/{n}", func(w http.ResponseWriter, r *http.Request) {
		s.add(r)
		fmt.Fprintf(w, "hello %s", r.PathValue("n"))
	})
	e := newEnded()
	ws := websocket.Wrap(mux, func(c *websocket.Conn, r *http.Request) {
		s.add(r)
		e.add("/ws", echo(c))
	})
	ts := serve(t, ws, serverOpts{ws: ws})
	cc := ts.dial(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, sockets+requests)
	for i := range sockets {
		wg.Go(func() {
			st, _, err := cc.OpenWebSocket(ctx, fmt.Sprintf("/ws?n=%d", i), nil)
			if err != nil {
				errs <- fmt.Errorf("socket %d: %w", i, err)
				return
			}
			defer st.Close()
			ws := NewWS(st, st)
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			var buf []byte
			for j := range messages {
				msg := fmt.Appendf(nil, "socket %d message %d:", i, j)
				for range rng.IntN(64 << 10) {
					msg = append(msg, byte(rng.Uint32()))
				}
				if err := ws.WriteBinary(msg); err != nil {
					errs <- fmt.Errorf("socket %d message %d: write: %w", i, j, err)
					return
				}
				op, got, err := ws.ReadMessage(buf)
				if err != nil || op != OpBinary || !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("socket %d message %d: got %#x, %d bytes, %v; want %d bytes back", i, j, op, len(got), err, len(msg))
					return
				}
				buf = got
			}
			if err := ws.Close(1000, ""); CloseCode(err) != 1000 {
				errs <- fmt.Errorf("socket %d: close: %w", i, err)
				return
			}
			if err := ws.ExpectEOF(); err != nil {
				errs <- fmt.Errorf("socket %d: after the close: %w", i, err)
			}
		})
	}
	for i := range requests {
		wg.Go(func() {
			resp, err := cc.Do(ctx, http.MethodGet, fmt.Sprintf("/hello/%d", i), nil, nil)
			if err != nil {
				errs <- fmt.Errorf("request %d: %w", i, err)
				return
			}
			if want := fmt.Sprintf("hello %d", i); resp.Status != http.StatusOK || string(resp.Body) != want {
				errs <- fmt.Errorf("request %d: %d %q, want 200 %q", i, resp.Status, resp.Body, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for range sockets {
		wantClose(t, e.wait(t, "/ws"), websocket.StatusNormalClosure)
	}

	if n := ts.conns.Load(); n != 1 {
		t.Errorf("the server saw %d TCP connections, want 1", n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if want := cc.LocalAddr().String(); len(s.remote) != 1 || s.remote[want] != sockets+requests {
		t.Errorf("client addresses the server saw: %v, want %d requests from %s", s.remote, sockets+requests, want)
	}
	if len(s.protos) != 1 || s.protos["HTTP/2.0"] != sockets+requests {
		t.Errorf("protocols the server saw: %v, want HTTP/2.0 only", s.protos)
	}
}
