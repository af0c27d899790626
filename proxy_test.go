package websocket

// Behind a reverse proxy: a real nginx (Debian's package), started by the
// test on loopback in front of a Server, with the configuration the package
// documentation recommends, with the common one that drops the port from
// Host, and with that one plus X-Forwarded-Host for TrustForwardedHost.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

// nginxLocation is the proxy configuration the package documentation
// recommends, with the Host line left to the test.
const nginxLocation = `
    location / {
        proxy_pass http://%s;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        %s
        proxy_send_timeout 1h;
    }
`

// startNginx runs nginx on a free loopback port in front of backend, with
// hostLines in its location block, until the test ends, and returns the
// address it listens on.
func startNginx(t *testing.T, backend, hostLines string) string {
	t.Helper()
	bin := wstest.NginxPath(t)
	dir := t.TempDir()
	addr := wstest.FreeAddr(t) // nginx binds it next
	conf := wstest.NginxConfig(dir, 64, fmt.Sprintf(`
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    server {
        listen %s;
        %s
    }`, addr, fmt.Sprintf(nginxLocation, backend, hostLines)))
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-p", dir, "-c", confPath, "-g", "daemon off;")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		select {
		case <-exited:
			t.Fatalf("nginx exited: %v\n%s", waitErr, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited // stderr is complete once Wait has returned
			t.Fatalf("nginx did not listen on %s within 10s:\n%s", addr, stderr.String())
		}
	}
}

func TestBehindNginx(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hostLines string
		trust     bool
		ok        bool
	}{
		{"recommended", "proxy_set_header Host $http_host;", false, true},
		{"host-without-port", "proxy_set_header Host $host;", false, false},
		{"x-forwarded-host", "proxy_set_header Host $host;\n        proxy_set_header X-Forwarded-Host $http_host;", true, true},
		{"x-forwarded-host-untrusted", "proxy_set_header Host $host;\n        proxy_set_header X-Forwarded-Host $http_host;", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged wstest.Buffer
			done := make(chan error, 1)
			s := Handler(echoHandler(done))
			s.Options.ErrorLog = log.New(&logged, "", 0)
			s.Options.TrustForwardedHost = tc.trust
			backend := startServer(t, s)
			proxy := startNginx(t, backend, tc.hostLines)

			// What a browser sends for a page served by the proxy: Host and
			// Origin both name the proxy, port included.
			origin := "http://" + proxy
			c, err := wstest.Dial(context.Background(), "ws://"+proxy+"/", http.Header{"Origin": {origin}})
			if !tc.ok {
				var he *wstest.HandshakeError
				if !errors.As(err, &he) || he.Status != http.StatusForbidden {
					t.Fatalf("dial through nginx: %v, want 403", err)
				}
				for _, want := range []string{origin, "OriginPatterns"} {
					if !strings.Contains(he.Body, want) {
						t.Errorf("the 403 body does not name %q: %s", want, he.Body)
					}
				}
				if !strings.Contains(logged.String(), "refused GET / ") || !strings.Contains(logged.String(), origin) {
					t.Errorf("the refusal was not logged with its origin: %q", logged.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("dial through nginx: %v; server log: %s", err, logged.String())
			}
			defer c.CloseNow()
			for _, msg := range []string{"through", "the proxy", strings.Repeat("x", 70000)} {
				c.WriteText(msg)
				op, got, err := c.ReadMessage(nil)
				if err != nil || op != wstest.OpText || string(got) != msg {
					t.Fatalf("echo of %d bytes: op %d, %d bytes, %v", len(msg), op, len(got), err)
				}
			}
			if err := c.Close(1000, "bye"); wstest.CloseCode(err) != 1000 {
				t.Fatalf("close answer: %v", err)
			}
			var ce *CloseError
			if err := await(t, done, "the handler's end"); !errors.As(err, &ce) || ce.Local || ce.Code != StatusNormalClosure || ce.Reason != "bye" {
				t.Fatalf("handler ended with %v, want the peer's 1000 bye", err)
			}
		})
	}
}

// The keepalive pings of the default Options keep a connection through
// nginx open past its proxy_read_timeout, which otherwise cuts idle
// WebSockets (60 s by default; 1 s here).
func TestBehindNginxKeepalive(t *testing.T) {
	done := make(chan error, 1)
	s := Handler(echoHandler(done))
	s.Options.PingInterval = 300 * time.Millisecond
	backend := startServer(t, s)
	proxy := startNginx(t, backend, "proxy_set_header Host $http_host;\n        proxy_read_timeout 1s;")
	c := wstest.DialTest(t, "ws://"+proxy+"/", nil)
	// Stay quiet but answer pings for well past nginx's timeout.
	idle := time.Now().Add(3 * time.Second)
	pings := 0
	for time.Now().Before(idle) {
		f, err := c.ReadFrame(nil)
		if err != nil {
			t.Fatalf("after %d pings: %v", pings, err)
		}
		if f.Op != wstest.OpPing {
			t.Fatalf("got opcode %d, want pings only", f.Op)
		}
		pings++
		c.Send(wstest.Frame{Fin: true, Op: wstest.OpPong, Payload: f.Payload})
	}
	c.WriteText("still here")
	if op, got, err := c.ReadMessage(nil); err != nil || op != wstest.OpText || string(got) != "still here" {
		t.Fatalf("echo after %d pings: %v", pings, err)
	}
}

// The proxy's answer to CONNECT is read under a cap (64 KiB), so a proxy,
// or something posing as one on a hostile network, cannot feed the client
// an endless header. Here a 200 with a 2 MiB header line.
func TestDialRefusesAnOversizedProxyAnswer(t *testing.T) {
	const junk = 2 << 20
	fc := &fakeProxyConn{r: io.MultiReader(
		strings.NewReader("HTTP/1.1 200 Connection established\r\nX-Junk: "),
		io.LimitReader(repeatReader('a'), junk),
		strings.NewReader("\r\n\r\n"),
	)}
	_, _, err := Dial(context.Background(), "ws://example.invalid/", &DialOptions{
		Proxy:            func(*http.Request) (*url.URL, error) { return url.Parse("http://proxy.invalid:3128") },
		NetDialContext:   func(context.Context, string, string) (net.Conn, error) { return fc, nil },
		HandshakeTimeout: patience,
	})
	t.Logf("Dial: %v; the client read %d bytes of the proxy's answer", err, fc.n)
	if fc.n > junk {
		t.Fatalf("the client read the whole %d-byte header of the proxy's answer: no bound", fc.n)
	}
}

// fakeProxyConn is a net.Conn whose reads come from r and whose writes
// are discarded; n counts the bytes read.
type fakeProxyConn struct {
	r io.Reader
	n int
}

func (f *fakeProxyConn) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	f.n += n
	return n, err
}
func (f *fakeProxyConn) Write(p []byte) (int, error)      { return len(p), nil }
func (f *fakeProxyConn) Close() error                     { return nil }
func (f *fakeProxyConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (f *fakeProxyConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (f *fakeProxyConn) SetDeadline(time.Time) error      { return nil }
func (f *fakeProxyConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeProxyConn) SetWriteDeadline(time.Time) error { return nil }

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// A proxy that refuses the tunnel gives a *DialError with its answer, as
// Dial's doc promises for every response read: a 407's Proxy-Authenticate
// says which credentials to retry with.
func TestDialProxyRefusalReturnsItsAnswer(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="corp"`)
		w.WriteHeader(http.StatusProxyAuthRequired)
	}))
	defer proxy.Close()
	proxyURL, _ := url.Parse(proxy.URL)
	_, resp, err := Dial(context.Background(), "ws://example.invalid/", &DialOptions{Proxy: http.ProxyURL(proxyURL)})
	if err == nil {
		t.Fatal("Dial through a refusing proxy succeeded")
	}
	var de *DialError
	if resp == nil || !errors.As(err, &de) {
		t.Fatalf("a proxy's 407: response %v, error %q (%T): the answer and its Proxy-Authenticate are lost", resp, err, err)
	}
	if de.Response != resp || resp.StatusCode != http.StatusProxyAuthRequired || resp.Header.Get("Proxy-Authenticate") != `Basic realm="corp"` {
		t.Fatalf("the refusal's response: %v, its header %v", resp.Status, resp.Header)
	}
	if !errors.Is(err, ErrBadHandshake) {
		t.Fatalf("a proxy's refusal does not match ErrBadHandshake: %v", err)
	}
}
