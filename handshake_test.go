package websocket

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

func TestAcceptKey(t *testing.T) {
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("got %q", got)
	}
}

// Requests that are not valid handshakes get the status RFC 6455 and the
// issue ask for, a one-line reason, and a matching error.
func TestHandshakeRefusals(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(r *http.Request)
		status int
		header [2]string
	}{
		{"POST", func(r *http.Request) { r.Method = "POST" }, 405, [2]string{"Allow", "GET"}},
		{"HTTP/1.0", func(r *http.Request) { r.ProtoMajor, r.ProtoMinor = 1, 0 }, 400, [2]string{}},
		{"no host", func(r *http.Request) { r.Host = "" }, 400, [2]string{}},
		{"no upgrade", func(r *http.Request) { r.Header.Del("Upgrade") }, 400, [2]string{}},
		{"upgrade h2c", func(r *http.Request) { r.Header.Set("Upgrade", "h2c") }, 400, [2]string{}},
		{"no connection", func(r *http.Request) { r.Header.Del("Connection") }, 400, [2]string{}},
		{"connection keep-alive", func(r *http.Request) { r.Header.Set("Connection", "keep-alive") }, 400, [2]string{}},
		{"no version", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }, 426, [2]string{"Sec-WebSocket-Version", "13"}},
		{"version 8", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, 426, [2]string{"Sec-WebSocket-Version", "13"}},
		{"no key", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") }, 400, [2]string{}},
		{"15-byte key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA") }, 400, [2]string{}},
		{"17-byte key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAA=") }, 400, [2]string{}},
		{"key not base64", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!==") }, 400, [2]string{}},
		{"cross origin", func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, 403, [2]string{}},
		{"origin bad url", func(r *http.Request) { r.Header.Set("Origin", "::") }, 403, [2]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := validRequest()
			tc.edit(r)
			w := httptest.NewRecorder()
			c, err := Upgrade(w, r, nil)
			if c != nil {
				t.Fatal("got a Conn")
			}
			var he *HandshakeError
			if !errors.As(err, &he) || he.Status != tc.status || !errors.Is(err, ErrBadHandshake) {
				t.Fatalf("error %v, want status %d", err, tc.status)
			}
			if w.Code != tc.status {
				t.Fatalf("wrote %d, want %d", w.Code, tc.status)
			}
			body := w.Body.String()
			if strings.Count(body, "\n") != 1 || !strings.Contains(body, he.Reason) {
				t.Fatalf("body %q is not the one-line reason", body)
			}
			if tc.header[0] != "" && w.Header().Get(tc.header[0]) != tc.header[1] {
				t.Fatalf("%s: %q", tc.header[0], w.Header().Get(tc.header[0]))
			}
		})
	}
}

func TestIsUpgrade(t *testing.T) {
	r := validRequest()
	r.Header.Set("Connection", "keep-alive, Upgrade")
	r.Header.Set("Upgrade", "WebSocket")
	if !IsUpgrade(r) {
		t.Fatal("comma list and mixed case not recognised")
	}
	r.Header["Connection"] = []string{"keep-alive", "upgrade"}
	if !IsUpgrade(r) {
		t.Fatal("token in a second header line not recognised")
	}
	r.Header.Set("Connection", "upgraded")
	if IsUpgrade(r) {
		t.Fatal("a token that only starts with upgrade matched")
	}
}

func TestOriginPolicy(t *testing.T) {
	for _, tc := range []struct {
		origin string
		opts   Options
		ok     bool
		xfh    string // X-Forwarded-Host
	}{
		{"", Options{}, true, ""},
		{"http://example.com", Options{}, true, ""},
		{"https://EXAMPLE.com", Options{}, true, ""},
		{"http://example.com:8080", Options{}, false, ""},
		{"http://evil.com", Options{}, false, ""},
		{"null", Options{}, false, ""},
		{"https://app.example.org", Options{OriginPatterns: []string{"*.example.org"}}, true, ""},
		{"https://example.org", Options{OriginPatterns: []string{"*.example.org"}}, false, ""},
		{"http://localhost:3000", Options{OriginPatterns: []string{"localhost:*"}}, true, ""},
		{"http://evil.com", Options{CheckOrigin: func(*http.Request) bool { return true }}, true, ""},
		{"http://example.com", Options{CheckOrigin: func(*http.Request) bool { return false }}, false, ""},
		// IPv6 literals: brackets are literal, not a character class.
		{"http://[::1]:8080", Options{OriginPatterns: []string{"[::1]:8080"}}, true, ""},
		{"http://[::1]:8080", Options{OriginPatterns: []string{"[::1]:*"}}, true, ""},
		{"http://[::2]:8080", Options{OriginPatterns: []string{"[::1]:*"}}, false, ""},
		{"http://:", Options{OriginPatterns: []string{"[:]:"}}, false, ""},
		// X-Forwarded-Host counts only when the operator trusts it.
		{"http://example.com:8080", Options{}, false, "example.com:8080"},
		{"http://example.com:8080", Options{TrustForwardedHost: true}, true, "example.com:8080"},
		{"http://example.com:8080", Options{TrustForwardedHost: true}, true, "example.com:8080, proxy.internal"},
		{"http://evil.com", Options{TrustForwardedHost: true}, false, "example.com:8080"},
	} {
		r := validRequest()
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.xfh != "" {
			r.Header.Set("X-Forwarded-Host", tc.xfh)
		}
		reason := refuseOrigin(r, &tc.opts)
		if got := reason == ""; got != tc.ok {
			t.Errorf("origin %q with %v patterns, X-Forwarded-Host %q: allowed %v (%s)", tc.origin, tc.opts.OriginPatterns, tc.xfh, got, reason)
		}
		if !tc.ok && tc.opts.CheckOrigin == nil && tc.origin != "null" && !strings.Contains(reason, tc.origin) {
			t.Errorf("refusal of %q does not name the origin: %s", tc.origin, reason)
		}
	}
}

func TestChooseSubprotocol(t *testing.T) {
	for _, tc := range []struct {
		offered []string
		server  []string
		want    string
	}{
		{nil, []string{"chat"}, ""},
		{[]string{"chat"}, nil, ""},
		{[]string{"v1, v2"}, []string{"v2", "v1"}, "v2"},
		{[]string{"v1", "v2"}, []string{"v3", "v1"}, "v1"},
		{[]string{"CHAT"}, []string{"chat"}, ""},
	} {
		r := validRequest()
		for _, v := range tc.offered {
			r.Header.Add("Sec-WebSocket-Protocol", v)
		}
		if got := chooseSubprotocol(r, tc.server); got != tc.want {
			t.Errorf("offered %q, server %q: got %q, want %q", tc.offered, tc.server, got, tc.want)
		}
	}
}

// A real upgrade through net/http: the chosen subprotocol and the caller's
// headers are in the 101, and a message the client sent in the same packet
// as its request is not lost.
func TestUpgradeThroughNetHTTP(t *testing.T) {
	got := make(chan string, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "session=abc")
		c, err := Upgrade(w, r, &Options{Subprotocols: []string{"v2.chat", "v1.chat"}})
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.CloseNow()
		_, msg, err := c.ReadMessage(context.Background(), nil)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- c.Subprotocol() + " " + string(msg)
	}))
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "GET / HTTP/1.1\r\nHost: " + ts.Listener.Addr().String() + "\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v1.chat, v2.chat\r\n\r\n"
	early := wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("early bird")}.Masked()
	conn.Write(append([]byte(req), early...))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" ||
		resp.Header.Get("Sec-WebSocket-Protocol") != "v2.chat" || resp.Header.Get("Set-Cookie") != "session=abc" {
		t.Fatalf("response: %d %v", resp.StatusCode, resp.Header)
	}
	if g := <-got; g != "v2.chat early bird" {
		t.Fatalf("server saw %q", g)
	}
}

// wss: the same Upgrade behind TLS.
func TestTLS(t *testing.T) {
	s := Handler(echoHandler(nil))
	ts := httptest.NewTLSServer(s)
	defer ts.Close()
	defer s.Shutdown(context.Background())
	conn, err := tls.Dial("tcp", ts.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := wstest.Handshake(conn, "x", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{5, 70000, 1 << 20} {
		p := bytes.Repeat([]byte("x"), n)
		send(t, c, wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: p})
		if _, got, err := c.ReadMessage(nil); err != nil || !bytes.Equal(got, p) {
			t.Fatalf("%d bytes: %d back, %v", n, len(got), err)
		}
	}
	sendClose(t, c, 1000)
	expectClose(t, c, 1000)
}

// FuzzHandshake: any request either upgrades or gets a 4xx with a
// HandshakeError; nothing panics.
func FuzzHandshake(f *testing.F) {
	f.Add("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	f.Add("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: AAAA\r\nSec-WebSocket-Version: 8\r\nOrigin: http://b\r\n\r\n")
	f.Add("POST / HTTP/1.0\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		key, err := checkHandshake(w, r, &Options{})
		if err == nil {
			if !validKey(key) || !IsUpgrade(r) {
				t.Fatalf("accepted key %q for %q", key, raw)
			}
			return
		}
		var he *HandshakeError
		if !errors.As(err, &he) || he.Status < 400 || he.Status > 499 || w.Code != he.Status {
			t.Fatalf("refusal %v with status %d", err, w.Code)
		}
	})
}

// Two Sec-WebSocket-Key (or Sec-WebSocket-Version) headers are refused:
// RFC 6455 §11.3.1 and §11.3.5 allow one.
func TestDuplicateHandshakeHeadersRefused(t *testing.T) {
	addr := startServer(t, Handler(echoHandler(nil)))
	for _, name := range []string{"Sec-WebSocket-Key", "Sec-WebSocket-Version"} {
		value := "dGhlIHNhbXBsZSBub25jZQ=="
		if name == "Sec-WebSocket-Version" {
			value = "13"
		}
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + name + ": " + value + "\r\n\r\n"
		nc.SetDeadline(time.Now().Add(patience))
		io.WriteString(nc, req)
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		nc.Close()
		if err != nil {
			t.Fatalf("%s twice: %v", name, err)
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			t.Errorf("%s twice: accepted", name)
		}
	}
}
