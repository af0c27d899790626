package websocket

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// dialTestServer serves s and returns its ws:// URL.
func dialTestServer(t *testing.T, s *Server) string {
	t.Helper()
	return "ws://" + startServer(t, s) + "/"
}

// noProxy keeps tests off any proxy the environment names.
func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

// The client against the library's own server: messages of every size both
// ways, text and binary, whole and streamed, and a clean close begun by
// the client.
func TestDialEcho(t *testing.T) {
	for _, tc := range []struct {
		name string
		comp *CompressionOptions
	}{
		{"plain", nil},
		{"deflate", &CompressionOptions{}},
		{"deflate-takeover", &CompressionOptions{ContextTakeover: true, PeerContextTakeover: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			s := Handler(echoHandler(done))
			s.Options.Compression = tc.comp
			u := dialTestServer(t, s)
			ctx := context.Background()
			c, resp, err := Dial(ctx, u, &DialOptions{Proxy: noProxy, Compression: tc.comp})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if (tc.comp != nil) != (c.deflate != nil) {
				t.Fatalf("compression offered %v, agreed %v (%q)", tc.comp != nil, c.deflate != nil, resp.Header.Get("Sec-WebSocket-Extensions"))
			}
			for _, size := range []int{0, 1, 125, 126, 65535, 65536, 1 << 20, 3<<20 + 7} {
				msg := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
				typ := MessageBinary
				if size%2 == 1 {
					typ = MessageText
				}
				if err := c.WriteMessage(ctx, typ, msg); err != nil {
					t.Fatalf("write %d: %v", size, err)
				}
				gotTyp, got, err := c.ReadMessage(ctx, nil)
				if err != nil || gotTyp != typ || !bytes.Equal(got, msg) {
					t.Fatalf("echo of %d bytes: %v, %d bytes, %v", size, gotTyp, len(got), err)
				}
			}
			// Streamed, in pieces of odd sizes.
			w, err := c.Writer(ctx, MessageBinary)
			if err != nil {
				t.Fatal(err)
			}
			var sent bytes.Buffer
			for i := range 300 {
				p := bytes.Repeat([]byte{byte(i)}, i*37)
				sent.Write(p)
				w.Write(p)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			_, r, err := c.Reader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, sent.Bytes()) {
				t.Fatalf("streamed echo: %d bytes of %d, %v", len(got), sent.Len(), err)
			}
			if err := c.Close(StatusNormalClosure, "done"); err != nil {
				t.Fatalf("Close: %v", err)
			}
			var ce *CloseError
			if err := await(t, done, "the server's handler"); !errors.As(err, &ce) || ce.Local || ce.Code != StatusNormalClosure || ce.Reason != "done" {
				t.Fatalf("server saw %v", err)
			}
		})
	}
}

// The server closes: the client's read returns the server's code, and the
// client answers the close.
func TestDialServerCloses(t *testing.T) {
	s := Handler(func(c *Conn, r *http.Request) {
		c.WriteMessage(context.Background(), MessageText, []byte("bye"))
		c.Close(StatusGoingAway, "restarting")
	})
	c, _, err := Dial(context.Background(), dialTestServer(t, s), &DialOptions{Proxy: noProxy})
	if err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.ReadMessage(context.Background(), nil); err != nil || string(msg) != "bye" {
		t.Fatalf("read %q %v", msg, err)
	}
	_, _, err = c.ReadMessage(context.Background(), nil)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Local || ce.Code != StatusGoingAway || ce.Reason != "restarting" {
		t.Fatalf("read: %v, want the server's 1001", err)
	}
	await(t, c.Done(), "the connection to end")
}

// Subprotocols, extra headers and cookies go out; the server's choice
// comes back; a jar keeps what the server sets.
func TestDialHeadersSubprotocolsCookies(t *testing.T) {
	seen := make(chan *http.Request, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		seen <- r
		c.ReadMessage(context.Background(), nil)
	})
	s.Options.Subprotocols = []string{"v2", "v1"}
	h := http.Header{"Authorization": {"Bearer t0ken"}, "Origin": {"http://example.com"}}
	jar, _ := cookiejar.New(nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "abc"})
		s.Options.OriginPatterns = []string{"example.com"}
		s.ServeHTTP(w, r)
	}))
	defer ts.Close()
	defer s.Shutdown(context.Background())
	u := "ws" + strings.TrimPrefix(ts.URL, "http") + "/chat?room=1"
	jarURL, _ := url.Parse(ts.URL)
	jar.SetCookies(jarURL, []*http.Cookie{{Name: "pref", Value: "dark"}})
	c, resp, err := Dial(context.Background(), u, &DialOptions{Proxy: noProxy, HTTPHeader: h, Subprotocols: []string{"v1", "v2"}, Jar: jar})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	r := await(t, seen, "the request")
	if r.Header.Get("Authorization") != "Bearer t0ken" || r.URL.RequestURI() != "/chat?room=1" {
		t.Errorf("request: %v %v", r.URL, r.Header)
	}
	if ck, err := r.Cookie("pref"); err != nil || ck.Value != "dark" {
		t.Errorf("cookie from the jar: %v %v", ck, err)
	}
	if c.Subprotocol() != "v2" || resp.Header.Get("Sec-WebSocket-Protocol") != "v2" {
		t.Errorf("subprotocol %q", c.Subprotocol())
	}
	if cookies := jar.Cookies(jarURL); len(cookies) != 2 {
		t.Errorf("jar holds %v, want the server's cookie too", cookies)
	}
}

// Answers that are not a valid upgrade fail with a DialError that says
// what was wrong and carries the response; redirects are not followed.
func TestDialBadAnswers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"refused", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no websockets here", http.StatusForbidden)
		}, "403"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) }, "redirect to /elsewhere"},
		{"bad accept", rawUpgrade("Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"), "Sec-WebSocket-Accept"},
		{"no upgrade header", rawUpgradeWithout("Upgrade"), "Upgrade"},
		{"subprotocol not offered", rawUpgrade("Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: chat\r\n"), "subprotocol"},
		{"extension not offered", rawUpgrade("Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"), "extension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(tc.handler)
			defer ts.Close()
			c, resp, err := Dial(context.Background(), "ws"+strings.TrimPrefix(ts.URL, "http"), &DialOptions{Proxy: noProxy})
			var de *DialError
			if c != nil || !errors.As(err, &de) || !errors.Is(err, ErrBadHandshake) {
				t.Fatalf("Dial: %v, %v", c, err)
			}
			if !strings.Contains(err.Error(), tc.want) || resp == nil || de.Response != resp {
				t.Fatalf("error %q (want it to name %q), response %v", err, tc.want, resp)
			}
			if tc.name == "refused" {
				if body, _ := io.ReadAll(resp.Body); !strings.Contains(string(body), "no websockets here") {
					t.Errorf("body %q", body)
				}
			}
		})
	}
}

// The permessage-deflate offer says what the client will do and asks what
// it needs (RFC 7692 §7.1.1): client_no_context_takeover when it resets its
// own compressor, server_no_context_takeover when it keeps no history of
// the server's. An answer that drops server_no_context_takeover, which was
// asked for, fails the Dial: the server would compress against history the
// client does not keep.
func TestDialDeflateOffer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		comp      CompressionOptions
		answer    string
		wantOffer string
		wantErr   string // empty: the Dial succeeds
	}{
		{"default", CompressionOptions{}, "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=13", ""},
		{"own takeover", CompressionOptions{ContextTakeover: true}, "permessage-deflate; server_no_context_takeover",
			"permessage-deflate; server_no_context_takeover; client_max_window_bits=13", ""},
		{"peer takeover", CompressionOptions{PeerContextTakeover: true}, "permessage-deflate",
			"permessage-deflate; server_max_window_bits=13; client_no_context_takeover; client_max_window_bits=13, permessage-deflate; client_no_context_takeover; client_max_window_bits=13", ""},
		{"both takeover", CompressionOptions{ContextTakeover: true, PeerContextTakeover: true}, "permessage-deflate",
			"permessage-deflate; server_max_window_bits=13; client_max_window_bits=13, permessage-deflate; client_max_window_bits=13", ""},
		{"server may impose a reset", CompressionOptions{ContextTakeover: true, PeerContextTakeover: true}, "permessage-deflate; client_no_context_takeover",
			"permessage-deflate; server_max_window_bits=13; client_max_window_bits=13, permessage-deflate; client_max_window_bits=13", ""},
		{"server_no_context_takeover dropped", CompressionOptions{}, "permessage-deflate",
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=13", "server_no_context_takeover"},
		{"server_no_context_takeover dropped, own takeover", CompressionOptions{ContextTakeover: true}, "permessage-deflate; client_no_context_takeover",
			"permessage-deflate; server_no_context_takeover; client_max_window_bits=13", "server_no_context_takeover"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offers := make(chan string, 1)
			answer := rawUpgrade("Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: " + tc.answer + "\r\n")
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				offers <- r.Header.Get("Sec-WebSocket-Extensions")
				answer(w, r)
			}))
			defer ts.Close()
			comp := tc.comp
			c, _, err := Dial(context.Background(), "ws"+strings.TrimPrefix(ts.URL, "http"), &DialOptions{Proxy: noProxy, Compression: &comp})
			if c != nil {
				c.CloseNow()
			}
			if got := <-offers; got != tc.wantOffer {
				t.Errorf("offer %q, want %q", got, tc.wantOffer)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Dial: %v", err)
			case tc.wantErr != "" && (err == nil || !errors.Is(err, ErrBadHandshake) || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Dial: %v; want a handshake error naming %s", err, tc.wantErr)
			case err == nil && c.deflate == nil:
				t.Error("permessage-deflate not agreed")
			}
		})
	}
}

// rawUpgrade answers a handshake with 101 and the given extra header
// lines, {accept} standing for the right Sec-WebSocket-Accept, then reads
// what the client sends until it closes.
func rawUpgrade(lines string) http.HandlerFunc { return rawServer(lines, nil) }

// rawServer answers a handshake as rawUpgrade does, then hands the
// connection to then, and closes it when then returns.
func rawServer(lines string, then func(brw *bufio.ReadWriter)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer nc.Close()
		head := strings.ReplaceAll(lines, "{accept}", AcceptKey(r.Header.Get("Sec-WebSocket-Key")))
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + head + "\r\n")
		brw.Flush()
		if then == nil {
			io.Copy(io.Discard, nc)
			return
		}
		then(brw)
	}
}

// rawUpgradeWithout answers a valid 101 but for the named header.
func rawUpgradeWithout(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer nc.Close()
		h := "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + AcceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n"
		var out []string
		for _, l := range strings.SplitAfter(h, "\r\n") {
			if l != "" && !strings.HasPrefix(l, name+":") {
				out = append(out, l)
			}
		}
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n" + strings.Join(out, "") + "\r\n")
		brw.Flush()
		io.Copy(io.Discard, nc)
	}
}

// A server that masks its frames breaks RFC 6455 §5.1: the client fails
// the connection with 1002.
func TestDialRefusesMaskedServerFrames(t *testing.T) {
	ts := httptest.NewServer(rawServer("Sec-WebSocket-Accept: {accept}\r\n", func(brw *bufio.ReadWriter) {
		// A masked text frame "hi" with a zero key.
		brw.Write([]byte{0x81, 0x82, 0, 0, 0, 0, 'h', 'i'})
		brw.Flush()
		// The client's Close frame comes back masked: 2 bytes, 4 of key,
		// then the code.
		var b [8]byte
		if _, err := io.ReadFull(brw, b[:]); err == nil {
			got := uint16(b[6]^b[2])<<8 | uint16(b[7]^b[3])
			if got != 1002 || b[0] != 0x88 || b[1]&0x80 == 0 {
				t.Errorf("client's close: % x (code %d)", b, got)
			}
		} else {
			t.Errorf("no close from the client: %v", err)
		}
	}))
	defer ts.Close()
	c, _, err := Dial(context.Background(), "ws"+strings.TrimPrefix(ts.URL, "http"), &DialOptions{Proxy: noProxy})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.ReadMessage(context.Background(), nil)
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("read: %v, want ErrProtocol", err)
	}
}

// The client's frames are masked, each with its own key.
func TestDialMasksFrames(t *testing.T) {
	keys := make(chan [4]byte, 2)
	ts := httptest.NewServer(rawServer("Sec-WebSocket-Accept: {accept}\r\n", func(brw *bufio.ReadWriter) {
		for range 2 {
			var f [2 + 4 + 5]byte
			if _, err := io.ReadFull(brw, f[:]); err != nil {
				t.Error(err)
				return
			}
			var key [4]byte
			copy(key[:], f[2:6])
			for i := range 5 {
				f[6+i] ^= key[i%4]
			}
			if f[0] != 0x81 || f[1] != 0x80|5 || string(f[6:]) != "hello" {
				t.Errorf("frame % x", f)
			}
			keys <- key
		}
	}))
	defer ts.Close()
	c, _, err := Dial(context.Background(), "ws"+strings.TrimPrefix(ts.URL, "http"), &DialOptions{Proxy: noProxy})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	msg := []byte("hello")
	for range 2 {
		if err := c.WriteMessage(context.Background(), MessageText, msg); err != nil {
			t.Fatal(err)
		}
	}
	if string(msg) != "hello" {
		t.Fatalf("the caller's buffer was changed: %q", msg)
	}
	if a, b := await(t, keys, "a frame"), await(t, keys, "a frame"); a == b {
		t.Fatalf("two frames with the same key % x", a)
	}
}

// JSON both ways, streamed.
func TestJSON(t *testing.T) {
	type point struct{ X, Y int }
	s := Handler(func(c *Conn, r *http.Request) {
		var p point
		for c.ReadJSON(context.Background(), &p) == nil {
			p.X, p.Y = p.Y, p.X
			c.WriteJSON(context.Background(), p)
		}
	})
	c, _, err := Dial(context.Background(), dialTestServer(t, s), &DialOptions{Proxy: noProxy})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.WriteJSON(context.Background(), point{1, 2}); err != nil {
		t.Fatal(err)
	}
	var got point
	if err := c.ReadJSON(context.Background(), &got); err != nil || got != (point{2, 1}) {
		t.Fatalf("got %+v %v", got, err)
	}
	if err := c.WriteJSON(context.Background(), func() {}); err == nil {
		t.Fatal("a func encoded")
	}
	c.WriteMessage(context.Background(), MessageText, []byte(`{"X":1} {"X":2}`))
	if err := c.ReadJSON(context.Background(), &got); err != nil {
		// The server read two values as an error and ended its loop; no
		// reply comes, and the read fails when the server closes.
		_ = err
	}
}

// Dial through an HTTP proxy's CONNECT tunnel, with credentials.
func TestDialThroughProxy(t *testing.T) {
	s := Handler(echoHandler(nil))
	target := startServer(t, s)
	auth := make(chan string, 1)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		auth <- r.Header.Get("Proxy-Authorization")
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer up.Close()
		w.WriteHeader(http.StatusOK)
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer nc.Close()
		brw.Flush()
		go io.Copy(up, brw)
		io.Copy(nc, up)
	}))
	defer proxy.Close()
	proxyURL, _ := url.Parse(proxy.URL)
	proxyURL.User = url.UserPassword("ada", "s3cret")
	c, _, err := Dial(context.Background(), "ws://"+target+"/", &DialOptions{Proxy: http.ProxyURL(proxyURL)})
	if err != nil {
		t.Fatal(err)
	}
	if got := await(t, auth, "the CONNECT"); got != "Basic YWRhOnMzY3JldA==" {
		t.Errorf("Proxy-Authorization %q", got)
	}
	if err := c.WriteMessage(context.Background(), MessageText, []byte("tunnelled")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.ReadMessage(context.Background(), nil); err != nil || string(msg) != "tunnelled" {
		t.Fatalf("echo: %q %v", msg, err)
	}
	if err := c.Close(StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
}

// A Dial cancelled while it waits for the server's answer returns an error
// matching the context's, not the "i/o timeout" of the deadline that
// enforces it: a caller can tell "I gave up" from "the server failed".
func TestDialCancelledWhileWaitingReportsContextError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan struct{}, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		http.ReadRequest(bufio.NewReader(nc))
		got <- struct{}{}
		io.Copy(io.Discard, nc) // never answers
	}()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-got
		cancel()
	}()
	_, _, err = Dial(ctx, "ws://"+ln.Addr().String()+"/", &DialOptions{Proxy: noProxy})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial cancelled while waiting for the answer: %v; want an error matching context.Canceled", err)
	}
}

// Dial reads the handshake response's header under a cap (1 MiB), so a
// broken or hostile server cannot make the client buffer without end until
// the handshake timeout. Here: 12 MiB of header lines, past even
// net/http's 10 MB.
func TestDialRefusesAnOversizedResponseHeader(t *testing.T) {
	const junkLines = 192 // of 64 KiB: 12 MiB, past net/http's 10 MB
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		bw := bufio.NewWriterSize(nc, 64<<10)
		bw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + AcceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n")
		line := []byte("X-Junk: " + strings.Repeat("a", 64<<10-10) + "\r\n")
		for range junkLines {
			if _, err := bw.Write(line); err != nil {
				return
			}
		}
		bw.WriteString("\r\n")
		bw.Flush()
		io.Copy(io.Discard, br)
	}()
	c, _, err := Dial(context.Background(), "ws://"+ln.Addr().String()+"/", &DialOptions{Proxy: noProxy})
	if err == nil {
		c.CloseNow()
		t.Fatal("Dial accepted a handshake response with 12 MiB of headers")
	}
	t.Logf("Dial: %v", err)
}

// A server that answers a bare permessage-deflate to the default offer
// (which asks for server_no_context_takeover) keeps its context: its
// second message refers to its first. Either Dial refuses the answer (it
// does: see TestDialDeflateOffer) or the client reads both messages; it
// never reads them as if the server had reset its context.
func TestDialDeflateServerKeepingItsContextIsNotMisread(t *testing.T) {
	msg := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog. "), 4)
	answer := "Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"
	ts := httptest.NewServer(rawServer(answer, func(brw *bufio.ReadWriter) {
		// One compressor for both messages: the server keeps its context,
		// so the second message is a back-reference to the first.
		var out bytes.Buffer
		fw, _ := flate.NewWriter(&out, flate.BestCompression)
		for range 2 {
			out.Reset()
			fw.Write(msg)
			fw.Flush()
			p := bytes.TrimSuffix(out.Bytes(), []byte{0, 0, 0xff, 0xff})
			brw.Write([]byte{0xc1, 126, byte(len(p) >> 8), byte(len(p))}) // FIN, RSV1, text
			brw.Write(p)
		}
		brw.Flush()
		io.Copy(io.Discard, brw)
	}))
	defer ts.Close()
	c, resp, err := Dial(context.Background(), "ws"+strings.TrimPrefix(ts.URL, "http"),
		&DialOptions{Proxy: noProxy, Compression: &CompressionOptions{}})
	if err != nil {
		t.Logf("Dial refused the answer: %v", err)
		return
	}
	defer c.CloseNow()
	t.Logf("offered %q, the server answered %q, Dial accepted it", offerOf(resp), resp.Header.Get("Sec-WebSocket-Extensions"))
	for i := range 2 {
		_, got, err := c.ReadMessage(context.Background(), nil)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("message %d: %q, %v: Dial accepted permessage-deflate without server_no_context_takeover but reads as if the server reset its context", i+1, got, err)
		}
	}
}

func offerOf(resp *http.Response) string {
	if resp.Request == nil {
		return "?"
	}
	return strings.Join(resp.Request.Header["Sec-WebSocket-Extensions"], ", ")
}
