package websocket

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
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
	send(t, c, wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("ws")})
	if _, msg, err := c.ReadMessage(nil); err != nil || string(msg) != "ws" {
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
	if resp := dialRefused(t, addr, "/"); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third: %d %v", resp.StatusCode, resp.Header)
	}
	// A slot frees when a connection ends: once its handler has returned,
	// which nothing signals outside the Server.
	sendClose(t, a, 1000)
	expectClose(t, a, 1000)
	eventually(t, "the closed connection to leave", func() bool { return s.Conns() == 1 })
	c := dialTest(t, addr, "/", nil)
	c.CloseNow()
	b.CloseNow()
}

// Shutdown sends 1001 to every peer, lets a message being written finish,
// waits for the handlers, and refuses new handshakes.
func TestShutdown(t *testing.T) {
	const n = 20
	var handlers sync.WaitGroup
	started := make(chan struct{}, n)
	s := Handler(func(c *Conn, r *http.Request) {
		defer handlers.Done()
		started <- struct{}{}
		echoHandler(nil)(c, r)
	})
	handlers.Add(n)
	addr := startServer(t, s)
	var clients []*wstest.Conn
	for range n {
		clients = append(clients, dialTest(t, addr, "/", nil))
		await(t, started, "a handler to start")
	}
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	for _, c := range clients {
		expectClose(t, c, 1001)
	}
	if err := await(t, done, "Shutdown to return"); err != nil {
		t.Fatal(err)
	}
	handlers.Wait() // Shutdown returned nil: they have all returned
	if resp := dialRefused(t, addr, "/"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after shutdown: %d", resp.StatusCode)
	}
}

// Shutdown gives up at its context's deadline, not before, and closes
// what is left: the peer's connection ends, and so does the handler
// waiting on Done.
func TestShutdownDeadline(t *testing.T) {
	const deadline = 200 * time.Millisecond // the trigger: nothing here ever answers
	started := make(chan struct{}, 1)
	ended := make(chan struct{})
	s := Handler(func(c *Conn, r *http.Request) {
		started <- struct{}{}
		<-c.Done() // a handler that ignores the close and never reads
		close(ended)
	})
	s.Options.CloseTimeout = time.Hour
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil) // a client that never answers the close
	await(t, started, "the handler to start")
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := s.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d < deadline {
		t.Errorf("Shutdown gave up after %v, before its deadline of %v", d, deadline)
	}
	// The peer got the 1001 and then the end of the connection.
	if code, _, err := c.ReadClose(); err != nil || code != 1001 {
		t.Fatalf("close %d, %v; want 1001", code, err)
	}
	expectEOF(t, c)
	await(t, ended, "the handler to see Done")
}

// An upgrade admitted before Shutdown that completes after Shutdown listed
// the connections is closed with 1001 too, and Shutdown returns.
func TestShutdownClosesLateUpgrade(t *testing.T) {
	inUpgrade := make(chan struct{})
	proceed := make(chan struct{})
	ended := make(chan error, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		_, _, err := c.ReadMessage(context.Background(), nil)
		ended <- err
	})
	// CheckOrigin runs inside Upgrade, after the request was admitted:
	// the place to hold an upgrade in flight.
	s.Options.CheckOrigin = func(*http.Request) bool {
		close(inUpgrade)
		<-proceed
		return true
	}
	addr := startServer(t, s)
	dialed := make(chan *wstest.Conn, 1)
	go func() {
		c, err := wstest.Dial(context.Background(), "ws://"+addr+"/", nil)
		if err != nil {
			t.Errorf("dial: %v", err)
		}
		dialed <- c
	}()
	await(t, inUpgrade, "the upgrade to begin")
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	eventually(t, "Shutdown to list the connections", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.draining
	})
	close(proceed)
	c := await(t, dialed, "the upgrade to complete")
	if c == nil {
		return
	}
	expectClose(t, c, 1001)
	if err := await(t, shut, "Shutdown to return"); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := await(t, ended, "the handler"); !errors.Is(err, ErrShutdown) {
		t.Errorf("handler read: %v, want ErrShutdown", err)
	}
}

// A handler that panics does not take the process down: the panic is
// logged, the peer gets 1011, and the server goes on serving.
func TestHandlerPanicRecovered(t *testing.T) {
	var logged wstest.Buffer
	s := Handler(func(c *Conn, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("handler bug")
		}
		echoHandler(nil)(c, r)
	})
	s.Options.ErrorLog = log.New(&logged, "", 0)
	addr := startServer(t, s)
	c := dialTest(t, addr, "/panic", nil)
	expectClose(t, c, 1011)
	if got := logged.String(); !strings.Contains(got, "handler bug") || !strings.Contains(got, "goroutine") {
		t.Errorf("the panic and its stack were not logged: %q", got)
	}
	ok := dialTest(t, addr, "/", nil)
	ok.WriteText("still serving")
	if msg, err := ok.ReadText(); err != nil || msg != "still serving" {
		t.Fatalf("after the panic: %q %v", msg, err)
	}
}

// A handler that panics while a Writer is open still gets its 1011 out:
// the unfinished message is abandoned.
func TestHandlerPanicWithOpenWriter(t *testing.T) {
	s := Handler(func(c *Conn, r *http.Request) {
		w, _ := c.Writer(context.Background(), MessageText)
		io.WriteString(w, "partial")
		panic("boom")
	})
	s.Options.CloseTimeout = 2 * time.Second
	s.Options.ErrorLog = log.New(io.Discard, "", 0)
	addr := startServer(t, s)
	client := dialTest(t, addr, "/", nil)
	start := time.Now()
	code, reason, err := client.ReadClose()
	t.Logf("after %v: close %d %q %v", time.Since(start).Round(time.Millisecond), code, reason, err)
	if code != 1011 {
		t.Errorf("want a Close 1011 for a panicking handler")
	}
}
