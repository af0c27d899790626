//go:build unix

package interop_test

// The client over TLS, against the library's own server, and through a
// real HTTP CONNECT proxy: tinyproxy, started on loopback with a
// configuration of the test's own. Run by TestClientInterop.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirekit/websocket"
	"github.com/wirekit/websocket/internal/wstest"
)

// testTLS dials wss:// URLs of the library's server, behind crypto/tls
// with httptest's certificate, trusted through DialOptions.TLSConfig.
func testTLS(t *testing.T) {
	done := make(chan error, 8)
	s := websocket.Handler(libraryEcho(done))
	s.Options.Compression = &websocket.CompressionOptions{ContextTakeover: true, PeerContextTakeover: true}
	addr, cert := serveLibrary(t, s, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			http.Error(w, "TLS only", http.StatusBadRequest)
			return
		}
		s.ServeHTTP(w, r)
	}), true)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	u := "wss://" + addr + "/"

	t.Run("echo", func(t *testing.T) {
		ctx := testContext(t)
		c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{Proxy: noProxy, TLSConfig: &tls.Config{RootCAs: roots}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		checkTLS(t, c, cert)
		roundTrip(ctx, t, c, websocket.MessageText, []byte("over TLS, ✓"))
		for _, n := range []int{0, 125, 126, 65536, 16 << 20} {
			roundTrip(ctx, t, c, websocket.MessageBinary, randomBytes(n))
		}
		streamRoundTrip(ctx, t, c, randomBytes(4<<20+1))
		closeLibrary(t, c, done)
	})

	t.Run("deflate", func(t *testing.T) {
		ctx := testContext(t)
		c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{
			Proxy:       noProxy,
			TLSConfig:   &tls.Config{RootCAs: roots},
			Compression: &websocket.CompressionOptions{ContextTakeover: true, PeerContextTakeover: true},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if got := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.HasPrefix(got, "permessage-deflate") {
			t.Fatalf("extensions %q", got)
		}
		for range 3 {
			roundTrip(ctx, t, c, websocket.MessageText, []byte(strings.Repeat("compressed over TLS ", 1000)))
		}
		roundTrip(ctx, t, c, websocket.MessageBinary, pattern(16<<20, 3))
		closeLibrary(t, c, done)
	})

	t.Run("server-name", func(t *testing.T) {
		// httptest's certificate names example.com: the URL's host is
		// 127.0.0.1, and TLSConfig.ServerName says which name to check.
		ctx := testContext(t)
		c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{Proxy: noProxy, TLSConfig: &tls.Config{RootCAs: roots, ServerName: "example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		roundTrip(ctx, t, c, websocket.MessageText, []byte("example.com"))
		closeLibrary(t, c, done)

		_, _, err = websocket.Dial(ctx, u, &websocket.DialOptions{Proxy: noProxy, TLSConfig: &tls.Config{RootCAs: roots, ServerName: "wrong.invalid"}})
		var he x509.HostnameError
		if !errors.As(err, &he) {
			t.Fatalf("Dial with a name the certificate lacks: %v, want an x509.HostnameError", err)
		}
	})

	t.Run("untrusted", func(t *testing.T) {
		// Without the test's root the system's roots are used, and they do
		// not hold httptest's certificate.
		_, _, err := websocket.Dial(testContext(t), u, &websocket.DialOptions{Proxy: noProxy})
		var ua x509.UnknownAuthorityError
		if !errors.As(err, &ua) {
			t.Fatalf("Dial without trusting the certificate: %v, want an x509.UnknownAuthorityError", err)
		}
	})
}

// checkTLS checks that c runs over TLS, with HTTP/1.1 agreed in ALPN and
// cert presented.
func checkTLS(t *testing.T, c *websocket.Conn, cert *x509.Certificate) {
	t.Helper()
	tc, ok := c.NetConn().(*tls.Conn)
	if !ok {
		t.Fatalf("NetConn is a %T, want a *tls.Conn", c.NetConn())
	}
	st := tc.ConnectionState()
	if !st.HandshakeComplete || st.Version < tls.VersionTLS12 || len(st.PeerCertificates) == 0 || !st.PeerCertificates[0].Equal(cert) {
		t.Fatalf("TLS state: complete %v, version %x, %d certificates", st.HandshakeComplete, st.Version, len(st.PeerCertificates))
	}
	if st.NegotiatedProtocol != "http/1.1" {
		t.Errorf("ALPN agreed on %q, want http/1.1", st.NegotiatedProtocol)
	}
	t.Logf("TLS %s, %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
}

// closeLibrary closes c with 1000 and checks that the library's echo
// handler saw the client's code.
func closeLibrary(t *testing.T, c *websocket.Conn, done <-chan error) {
	t.Helper()
	if err := c.Close(websocket.StatusNormalClosure, "done"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var ce *websocket.CloseError
	if err := await(t, done, "the server's handler to end"); !errors.As(err, &ce) || ce.Local || ce.Code != websocket.StatusNormalClosure || ce.Reason != "done" {
		t.Fatalf("the server saw %v, want the client's 1000 \"done\"", err)
	}
}

// proxyOutAddr is the address tinyproxy connects to targets from (its Bind
// setting). The targets refuse connections from anywhere else, so a
// connection that reaches them went through the proxy. Linux routes all of
// 127.0.0.0/8 to the loopback interface.
const proxyOutAddr = "127.0.0.2"

// testTinyproxy dials the library's server, plain and over TLS, through
// tinyproxy's CONNECT tunnel with Basic credentials.
func testTinyproxy(t *testing.T) {
	bin := needTinyproxy(t)

	// The targets: the library's echo server, plain and TLS, refusing
	// direct connections, and one on a port tinyproxy is not allowed to
	// CONNECT to. Each reports where its connections came from.
	type target struct {
		addr string
		cert *x509.Certificate
		from chan string
		done chan error
	}
	newTarget := func(tlsOn bool) *target {
		tg := &target{from: make(chan string, 8), done: make(chan error, 8)}
		s := websocket.Handler(libraryEcho(tg.done))
		tg.addr, tg.cert = serveLibrary(t, s, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			tg.from <- host
			if host != proxyOutAddr {
				http.Error(w, "direct connections are refused: come through the proxy", http.StatusForbidden)
				return
			}
			s.ServeHTTP(w, r)
		}), tlsOn)
		return tg
	}
	plain, secure, forbidden := newTarget(false), newTarget(true), newTarget(false)
	proxy := startTinyproxy(t, bin, plain.addr, secure.addr)
	withAuth := &url.URL{Scheme: "http", Host: proxy.addr, User: url.UserPassword("ada", "s3cret")}

	// through checks that a connection went through the proxy: the target
	// saw it come from the proxy's outgoing address, tinyproxy logged the
	// CONNECT, and the client's peer is the proxy.
	through := func(t *testing.T, c *websocket.Conn, tg *target) {
		t.Helper()
		if from := await(t, tg.from, "the target's request"); from != proxyOutAddr {
			t.Errorf("the target saw the connection come from %s, want the proxy's %s", from, proxyOutAddr)
		}
		if got := c.RemoteAddr().String(); got != proxy.addr {
			t.Errorf("the client's peer is %s, want the proxy at %s", got, proxy.addr)
		}
		proxy.awaitLog(t, "CONNECT "+tg.addr+" ")
	}

	t.Run("ws", func(t *testing.T) {
		ctx := testContext(t)
		c, _, err := websocket.Dial(ctx, "ws://"+plain.addr+"/", &websocket.DialOptions{Proxy: http.ProxyURL(withAuth)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		through(t, c, plain)
		roundTrip(ctx, t, c, websocket.MessageText, []byte("tunnelled, ✓"))
		roundTrip(ctx, t, c, websocket.MessageBinary, randomBytes(16<<20))
		streamRoundTrip(ctx, t, c, randomBytes(1<<20+1))
		closeLibrary(t, c, plain.done)
	})

	t.Run("wss", func(t *testing.T) {
		ctx := testContext(t)
		roots := x509.NewCertPool()
		roots.AddCert(secure.cert)
		c, _, err := websocket.Dial(ctx, "wss://"+secure.addr+"/", &websocket.DialOptions{
			Proxy:     http.ProxyURL(withAuth),
			TLSConfig: &tls.Config{RootCAs: roots},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if err := c.WriteMessage(ctx, websocket.MessageText, []byte("TLS inside the tunnel")); err != nil {
			t.Fatal(err)
		}
		if _, msg, err := c.ReadMessage(ctx, nil); err != nil || string(msg) != "TLS inside the tunnel" {
			t.Fatalf("echo: %q %v", msg, err)
		}
		checkTLS(t, c, secure.cert)
		// RemoteAddr is the TLS connection's, over the tunnel to the proxy.
		through(t, c, secure)
		roundTrip(ctx, t, c, websocket.MessageBinary, randomBytes(4<<20))
		closeLibrary(t, c, secure.done)
	})

	t.Run("direct-is-refused", func(t *testing.T) {
		// The check above means something: without the proxy, the target
		// refuses.
		_, resp, err := websocket.Dial(testContext(t), "ws://"+plain.addr+"/", &websocket.DialOptions{Proxy: noProxy})
		var de *websocket.DialError
		if !errors.As(err, &de) || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("direct Dial: %v, want the target's 403", err)
		}
		if from := await(t, plain.from, "the target's request"); from == proxyOutAddr {
			t.Fatalf("a direct connection came from %s, the proxy's address", from)
		}
	})

	t.Run("no-credentials", func(t *testing.T) {
		noAuth := &url.URL{Scheme: "http", Host: proxy.addr}
		_, _, err := websocket.Dial(testContext(t), "ws://"+plain.addr+"/", &websocket.DialOptions{Proxy: http.ProxyURL(noAuth)})
		if err == nil || !strings.Contains(err.Error(), "407") {
			t.Fatalf("Dial without credentials: %v, want the proxy's 407", err)
		}
	})

	t.Run("wrong-credentials", func(t *testing.T) {
		wrong := &url.URL{Scheme: "http", Host: proxy.addr, User: url.UserPassword("ada", "guess")}
		_, _, err := websocket.Dial(testContext(t), "ws://"+plain.addr+"/", &websocket.DialOptions{Proxy: http.ProxyURL(wrong)})
		// tinyproxy 1.11 answers a wrong password with 401, not 407.
		if err == nil || !strings.Contains(err.Error(), "refused the tunnel") || strings.Contains(err.Error(), "guess") {
			t.Fatalf("Dial with a wrong password: %v, want the proxy's refusal (without the password in it)", err)
		}
		t.Logf("wrong password: %v", err)
	})

	t.Run("port-not-allowed", func(t *testing.T) {
		_, _, err := websocket.Dial(testContext(t), "ws://"+forbidden.addr+"/", &websocket.DialOptions{Proxy: http.ProxyURL(withAuth)})
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("Dial to a port tinyproxy may not CONNECT to: %v, want its 403", err)
		}
		select {
		case from := <-forbidden.from:
			t.Fatalf("the target was reached (from %s)", from)
		default:
		}
	})
}

// needTinyproxy returns tinyproxy's path, failing the test if it is not
// installed.
func needTinyproxy(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("tinyproxy"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	missing(t, "tinyproxy is not installed", "apt-get install -y tinyproxy")
	return ""
}

// A tinyproxyProcess is tinyproxy running in the foreground with a
// configuration in the test's temporary directory.
type tinyproxyProcess struct {
	addr string
	log  string // its log file
}

// startTinyproxy starts tinyproxy on a free loopback port: clients from
// 127.0.0.1 only, with Basic credentials ada:s3cret, CONNECT allowed to the
// ports of targets only, connecting out from proxyOutAddr. It is stopped
// with SIGTERM when the test ends.
func startTinyproxy(t *testing.T, bin string, targets ...string) *tinyproxyProcess {
	t.Helper()
	dir := t.TempDir()
	p := &tinyproxyProcess{addr: wstest.FreeAddr(t), log: filepath.Join(dir, "tinyproxy.log")}
	host, port, _ := net.SplitHostPort(p.addr)
	var conf strings.Builder
	fmt.Fprintf(&conf, "Port %s\nListen %s\nBind %s\n", port, host, proxyOutAddr)
	fmt.Fprintf(&conf, "LogFile %q\nLogLevel Connect\nPidFile %q\n", p.log, filepath.Join(dir, "tinyproxy.pid"))
	conf.WriteString("Timeout 300\nMaxClients 50\nAllow 127.0.0.1\nBasicAuth ada s3cret\nDisableViaHeader Yes\n")
	for _, tg := range targets {
		_, port, _ := net.SplitHostPort(tg)
		fmt.Fprintf(&conf, "ConnectPort %s\n", port)
	}
	confPath := filepath.Join(dir, "tinyproxy.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	out := &wstest.Buffer{}
	cmd := exec.Command(bin, "-d", "-c", confPath)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(stopTimeout)
		defer timer.Stop()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("tinyproxy exited with %v after SIGTERM", err)
			}
		case <-timer.C:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Errorf("tinyproxy did not exit within %v of SIGTERM; killed", stopTimeout)
		}
		if t.Failed() {
			log, _ := os.ReadFile(p.log)
			t.Logf("tinyproxy configuration:\n%s\noutput:\n%s\nlog:\n%s", conf.String(), out.String(), log)
		}
	})

	// Nothing tells when tinyproxy listens: poll, as server.start does.
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("tinyproxy exited at start: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tinyproxy did not listen on %s within %v", p.addr, startTimeout)
		}
	}
}

// awaitLog waits for tinyproxy's log to hold s. tinyproxy writes the line
// before it connects to the target, so it is normally there at once; the
// wait is bounded by eventTimeout.
func (p *tinyproxyProcess) awaitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for {
		log, err := os.ReadFile(p.log)
		if err == nil && strings.Contains(string(log), s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tinyproxy's log does not hold %q after %v:\n%s", s, eventTimeout, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
