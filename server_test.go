package websocket

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Wrap leaves ordinary requests to the wrapped handler, untouched, and
// upgrades the rest.
func TestWrap(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App", "yes")
		io.WriteString(w, "hello "+r.Method)
	})
	addr := startServer(t, Wrap(mux, echoHandler(nil)))
	for _, method := range []string{"GET", "POST"} {
		req, _ := http.NewRequest(method, "http://"+addr+"/hello", strings.NewReader("body"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "hello "+method || resp.Header.Get("X-App") != "yes" {
			t.Fatalf("%s: %d %q %v", method, resp.StatusCode, body, resp.Header)
		}
	}
	resp, err := http.Get("http://" + addr + "/missing")
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("404 route: %v %v", resp, err)
	}
	resp.Body.Close()
	c := dialTest(t, addr, "/hello", nil)
	defer c.close()
	c.sendMessage(1, []byte("ws"))
	if _, msg, err := c.readMessage(); err != nil || string(msg) != "ws" {
		t.Fatalf("%q %v", msg, err)
	}
}

// A WebSocket-only route refuses plain requests with the handshake's status.
func TestHandlerRefusesPlainRequests(t *testing.T) {
	addr := startServer(t, Handler(echoHandler(nil)))
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestMaxConns(t *testing.T) {
	s := Handler(echoHandler(nil))
	s.MaxConns = 2
	addr := startServer(t, s)
	a := dialTest(t, addr, "/", nil)
	b := dialTest(t, addr, "/", nil)
	_, resp, err := dialRaw(addr, "/", nil)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third: %v %v", resp, err)
	}
	// A slot frees when a connection ends.
	a.send(testFrame{fin: true, op: 8, payload: closePayload(1000, "")})
	a.expectEOF()
	a.close()
	deadline := time.Now().Add(5 * time.Second)
	for s.Conns() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d conns", s.Conns())
		}
		time.Sleep(time.Millisecond)
	}
	c := dialTest(t, addr, "/", nil)
	c.close()
	b.close()
}

// Shutdown sends 1001 to every peer, lets a message being written finish,
// waits for the handlers, and refuses new handshakes.
func TestShutdown(t *testing.T) {
	const n = 20
	var handlers sync.WaitGroup
	s := Handler(func(c *Conn, r *http.Request) {
		defer handlers.Done()
		echoHandler(nil)(c, r)
	})
	handlers.Add(n)
	addr := startServer(t, s)
	var clients []*testClient
	for range n {
		clients = append(clients, dialTest(t, addr, "/", nil))
	}
	for s.Conns() != n {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	for _, c := range clients {
		c.expectClose(1001)
		c.close()
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	handlers.Wait()
	if _, resp, err := dialRaw(addr, "/", nil); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after shutdown: %v %v", resp, err)
	}
}

// Shutdown gives up at its context's deadline, closing what is left.
func TestShutdownDeadline(t *testing.T) {
	s := Handler(func(c *Conn, r *http.Request) {
		<-c.Done() // a handler that ignores the close and never reads
	})
	s.Options.CloseTimeout = time.Minute
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil) // a client that never answers the close
	defer c.close()
	for s.Conns() != 1 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
}
