package websocket

// Hostile handshakes: clients that trickle their request, and requests
// that must be refused. Each test asserts what the client got (the HTTP
// status, or the server hanging up), that the WebSocket handler never ran,
// and (through startHTTPServer) that no goroutine is left behind.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

// A client that trickles its handshake, one byte every 250 ms, is cut off
// by http.Server.ReadHeaderTimeout: the server hangs up before the request
// is complete (sending it whole would take some 40 s), not before the
// timeout, without a 101, and the WebSocket handler never runs. How soon
// after the timeout the server hangs up is logged.
func TestHostileSlowloris(t *testing.T) {
	const (
		readHeaderTimeout = 300 * time.Millisecond
		perByte           = 250 * time.Millisecond
		clients           = 20
	)
	var handled atomic.Int32
	ws := Handler(func(c *Conn, r *http.Request) { handled.Add(1) })
	addr := startHTTPServer(t, ws, func(hs *http.Server) { hs.ReadHeaderTimeout = readHeaderTimeout })

	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	type result struct {
		cutAfter time.Duration // from before the dial, so never before the server's timer started
		sent     int
		got      []byte
		err      error // how the client's read ended
		dialErr  error
	}
	results := make([]result, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			conn, err := net.DialTimeout("tcp", addr, patience)
			if err != nil {
				results[i].dialErr = err
				return
			}
			defer conn.Close()
			// Far past the time the whole request takes: only a server
			// that neither hangs up nor answers meets it.
			conn.SetDeadline(start.Add(time.Duration(len(req))*perByte + patience))
			// The reader sees the server hang up.
			type ending struct {
				got []byte
				err error
			}
			cut := make(chan ending, 1)
			go func() {
				b, err := io.ReadAll(conn)
				cut <- ending{b, err}
			}()
			tick := time.NewTicker(perByte) // the client's pace, not a wait
			defer tick.Stop()
			sent := 0
			for {
				if sent < len(req) {
					if _, err := conn.Write([]byte{req[sent]}); err == nil {
						sent++
					}
				}
				select {
				case e := <-cut:
					results[i] = result{cutAfter: time.Since(start), sent: sent, got: e.got, err: e.err}
					return
				case <-tick.C:
				}
			}
		}()
	}
	wg.Wait()
	var worst time.Duration
	for i, r := range results {
		if r.dialErr != nil {
			t.Fatalf("client %d: dial: %v", i, r.dialErr)
		}
		// A reset is a hang-up too (a byte may arrive as the server
		// closes); only our own deadline is a failure.
		if ne, ok := r.err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("client %d: the server neither hung up nor answered: %v", i, r.err)
		}
		if r.sent == len(req) {
			t.Errorf("client %d: sent the whole request before the server hung up", i)
		}
		if r.cutAfter < readHeaderTimeout {
			t.Errorf("client %d: cut off after %v, before the ReadHeaderTimeout of %v", i, r.cutAfter, readHeaderTimeout)
		}
		if bytes.Contains(r.got, []byte(" 101 ")) {
			t.Errorf("client %d: was upgraded: %q", i, r.got)
		}
		worst = max(worst, r.cutAfter)
	}
	if n := handled.Load(); n != 0 {
		t.Errorf("the WebSocket handler ran %d times", n)
	}
	t.Logf("%d slowloris clients cut off, the slowest after %v (ReadHeaderTimeout %v, trickle 1 byte/%v)",
		clients, worst.Round(time.Millisecond), readHeaderTimeout, perByte)
}

// 1,000 bad upgrade requests, 50 at a time, each get the status the RFC
// and the documentation name: 400 for a missing or short key, 426 (with
// Sec-WebSocket-Version: 13) for version 8, 405 (with Allow: GET) for POST,
// 431 for headers past http.Server.MaxHeaderBytes, 403 for a cross-origin
// Origin. None reaches the handler, every goroutine returns, and no
// admission slot leaks: with MaxConns equal to the batch size, a valid
// upgrade still succeeds afterwards.
func TestHostileBadUpgrades(t *testing.T) {
	const (
		total          = 1000
		batch          = 50
		maxHeaderBytes = 8 << 10
	)
	var handled atomic.Int32
	ws := Handler(func(c *Conn, r *http.Request) {
		handled.Add(1)
		echoHandler(nil)(c, r)
	})
	ws.MaxConns = batch
	addr := startHTTPServer(t, ws, func(hs *http.Server) {
		hs.MaxHeaderBytes = maxHeaderBytes
		hs.ReadHeaderTimeout = patience // the requests are sent whole: this never fires
	})
	baseline := runtime.NumGoroutine()

	const (
		key     = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		version = "Sec-WebSocket-Version: 13\r\n"
	)
	host := "Host: " + addr + "\r\n"
	// net/http reads MaxHeaderBytes plus 4 KiB of slack before it gives
	// up; 64 KiB of header is well past both.
	huge := "X-Huge: " + strings.Repeat("h", 64<<10) + "\r\n"
	kinds := []struct {
		name   string
		req    string
		status int
		header [2]string
	}{
		{"no key", "GET / HTTP/1.1\r\n" + host + upgrade + version + "\r\n", 400, [2]string{}},
		{"15-byte key", "GET / HTTP/1.1\r\n" + host + upgrade + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n" + version + "\r\n", 400, [2]string{}},
		{"version 8", "GET / HTTP/1.1\r\n" + host + upgrade + key + "Sec-WebSocket-Version: 8\r\n\r\n", 426, [2]string{"Sec-WebSocket-Version", "13"}},
		{"POST", "POST / HTTP/1.1\r\n" + host + upgrade + key + version + "Content-Length: 0\r\n\r\n", 405, [2]string{"Allow", "GET"}},
		{"huge headers", "GET / HTTP/1.1\r\n" + host + upgrade + key + version + huge + "\r\n", 431, [2]string{}},
		{"cross origin", "GET / HTTP/1.1\r\n" + host + upgrade + key + version + "Origin: https://evil.example\r\n\r\n", 403, [2]string{}},
	}

	var mu sync.Mutex
	failures := map[string]int{}
	var firstFailure []string
	statuses := map[int]int{}
	fail := func(kind, msg string) {
		mu.Lock()
		defer mu.Unlock()
		failures[kind]++
		if len(firstFailure) < 5 {
			firstFailure = append(firstFailure, kind+": "+msg)
		}
	}
	start := time.Now()
	for b := 0; b < total; b += batch {
		var wg sync.WaitGroup
		for i := b; i < min(b+batch, total); i++ {
			k := kinds[i%len(kinds)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn, err := net.DialTimeout("tcp", addr, patience)
				if err != nil {
					fail(k.name, err.Error())
					return
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(patience))
				if _, err := io.WriteString(conn, k.req); err != nil {
					fail(k.name, "write: "+err.Error())
					return
				}
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					fail(k.name, "read: "+err.Error())
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
				if resp.StatusCode != k.status {
					fail(k.name, fmt.Sprintf("status %d, want %d", resp.StatusCode, k.status))
					return
				}
				if k.header[0] != "" && resp.Header.Get(k.header[0]) != k.header[1] {
					fail(k.name, fmt.Sprintf("%s: %q, want %q", k.header[0], resp.Header.Get(k.header[0]), k.header[1]))
				}
			}()
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	if len(failures) > 0 {
		t.Fatalf("failures per kind %v; first: %q", failures, firstFailure)
	}
	if n := handled.Load(); n != 0 {
		t.Fatalf("the handler ran %d times for bad requests", n)
	}
	// Every goroutine of the 1,000 exchanges returns (net/http keeps a 431
	// connection for half a second before it closes it).
	checkGoroutines(t, baseline)
	if n := ws.Conns(); n != 0 {
		t.Fatalf("Conns() = %d after refusals", n)
	}
	// No admission slot leaked: MaxConns is 50 and 1,000 were refused.
	c := dialTest(t, addr, "/", nil)
	send(t, c, wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("still admitted")})
	if _, msg, err := c.ReadMessage(nil); err != nil || string(msg) != "still admitted" {
		t.Fatalf("valid upgrade after the refusals: %q %v", msg, err)
	}
	sendClose(t, c, 1000)
	expectClose(t, c, 1000)
	c.CloseNow()
	t.Logf("%d bad upgrades in %v, statuses %v; goroutines back to %d", total, elapsed.Round(time.Millisecond), statuses, baseline)
}
