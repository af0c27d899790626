package h2test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wirekit/websocket"
	"github.com/wirekit/websocket/internal/selfsigned"
)

// Go's HTTP/2 server offers extended CONNECT only when GODEBUG holds
// http2xconnect=1 as the process starts: net/http reads the variable once,
// in an init function, and a //go:debug line does not accept the
// setting. So when it is missing, TestMain runs this test binary again,
// with the same arguments and the setting added, and exits as the copy
// does. The copy is marked by reexecEnv so that it never runs a third.
const reexecEnv = "H2TEST_REEXEC"

func TestMain(m *testing.M) {
	if !xconnectOn() && os.Getenv(reexecEnv) == "" {
		os.Exit(reexec())
	}
	os.Exit(m.Run())
}

// xconnectOn reports whether net/http in this process offers extended
// CONNECT, by the test net/http itself applies to GODEBUG.
func xconnectOn() bool { return strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=1") }

// reexec runs this test binary again with GODEBUG=http2xconnect=1 added
// to whatever GODEBUG holds, and returns its exit status.
func reexec() int {
	godebug := os.Getenv("GODEBUG")
	if godebug != "" {
		godebug += ","
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), "GODEBUG="+godebug+"http2xconnect=1", reexecEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	dieWithParent(cmd)
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() >= 0 {
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "h2test: running the tests again with GODEBUG=http2xconnect=1: %v\n", err)
		return 1
	}
	return 0
}

// Generous bounds: they turn a hang into a failure and are never what a
// test measures.
const (
	testTimeout = 20 * time.Second
	buildLimit  = 3 * time.Minute
)

// testCert is a self-signed certificate for the loopback names, made once.
var testCert = sync.OnceValues(func() (tls.Certificate, error) {
	return selfsigned.Cert("h2test", nil, 24*time.Hour)
})

// A testServer is an http.Server on a loopback port, serving HTTP/1.1 and
// HTTP/2 over TLS, or HTTP/1.1 and h2c in the clear.
type testServer struct {
	addr      string
	clientTLS *tls.Config // nil in the clear
	conns     atomic.Int64
}

type serverOpts struct {
	clear bool               // cleartext: HTTP/1.1 and h2c with prior knowledge
	ws    *websocket.Server  // shut down with the server, so its peers get 1001
	h2    *http.HTTP2Config  // the server's HTTP/2 settings, if not the defaults
	tune  func(*http.Server) // anything else
}

// serve runs h until the test ends.
func serve(t testing.TB, h http.Handler, o serverOpts) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{addr: ln.Addr().String()}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: testTimeout,
		HTTP2:             o.h2,
		Protocols:         new(http.Protocols),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				ts.conns.Add(1)
			}
		},
	}
	srv.Protocols.SetHTTP1(true)
	if o.clear {
		srv.Protocols.SetUnencryptedHTTP2(true)
	} else {
		srv.Protocols.SetHTTP2(true)
		cert, err := testCert()
		if err != nil {
			t.Fatal(err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		pool := x509.NewCertPool()
		pool.AddCert(cert.Leaf)
		ts.clientTLS = &tls.Config{RootCAs: pool}
	}
	if o.tune != nil {
		o.tune(srv)
	}
	served := make(chan error, 1)
	go func() {
		if o.clear {
			served <- srv.Serve(ln)
		} else {
			served <- srv.ServeTLS(ln, "", "")
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		var wg sync.WaitGroup
		if o.ws != nil {
			wg.Go(func() { o.ws.Shutdown(ctx) })
		}
		srv.Shutdown(ctx)
		wg.Wait()
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return ts
}

// dial opens an HTTP/2 connection to ts, closed when the test ends.
func (ts *testServer) dial(t testing.TB, cfg *Config) *ClientConn {
	t.Helper()
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	c.TLS = ts.clientTLS
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cc, err := Dial(ctx, ts.addr, &c)
	if err != nil {
		t.Fatalf("dial %s: %v", ts.addr, err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// openWS opens a WebSocket on cc for path, failing the test if it cannot;
// its stream is closed when the test ends.
func openWS(t testing.TB, cc *ClientConn, path string, hdr http.Header) (*WS, *Stream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	st, _, err := cc.OpenWebSocket(ctx, path, hdr)
	if err != nil {
		t.Fatalf("WebSocket %s over HTTP/2: %v", path, err)
	}
	t.Cleanup(func() { st.Close() })
	return NewWS(st, st), st
}

// dialH1 opens a WebSocket to ts for path over HTTP/1.1 (TLS with ALPN
// http/1.1, or cleartext), with this package's WS on it: the same client
// code as over HTTP/2, for comparisons.
func (ts *testServer) dialH1(t testing.TB, path string) (*WS, net.Conn) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", ts.addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if ts.clientTLS != nil {
		cfg := ts.clientTLS.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		cfg.ServerName = "127.0.0.1"
		tc := tls.Client(nc, cfg)
		nc = tc
	}
	nc.SetDeadline(time.Now().Add(testTimeout))
	br, err := handshakeH1(nc, ts.addr, path)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Time{})
	return NewWS(br, nc), nc
}

// handshakeH1 makes an RFC 6455 opening handshake over nc and returns the
// reader that holds what follows the 101.
func handshakeH1(nc net.Conn, host, path string) (*bufio.Reader, error) {
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, host, key)
	br := bufio.NewReaderSize(nc, 32<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return nil, fmt.Errorf("handshake: %s: %s", resp.Status, body)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		return nil, fmt.Errorf("handshake: Sec-WebSocket-Accept %q, want %q", got, want)
	}
	return br, nil
}

// echo returns each message to its sender until the connection ends, and
// returns what ended it. It streams, as examples/echo does, so a message
// of several MiB passes through in pieces.
func echo(c *websocket.Conn) error {
	ctx := context.Background()
	for {
		typ, r, err := c.Reader(ctx)
		if err != nil {
			return err
		}
		w, err := c.Writer(ctx, typ)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, r)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// ended collects what ended each handler, by path.
type ended struct {
	mu   sync.Mutex
	errs map[string][]error
	ch   chan string
}

func newEnded() *ended { return &ended{errs: make(map[string][]error), ch: make(chan string, 100)} }

func (e *ended) add(path string, err error) {
	e.mu.Lock()
	e.errs[path] = append(e.errs[path], err)
	e.mu.Unlock()
	select {
	case e.ch <- path:
	default: // full: waiters have wake-ups enough
	}
}

// wait returns the error that ended the next handler for path to end.
func (e *ended) wait(t testing.TB, path string) error {
	t.Helper()
	timeout := time.After(testTimeout)
	for {
		e.mu.Lock()
		if errs := e.errs[path]; len(errs) > 0 {
			e.errs[path] = errs[1:]
			e.mu.Unlock()
			return errs[0]
		}
		e.mu.Unlock()
		select {
		case <-e.ch:
		case <-timeout:
			t.Fatalf("the handler for %s did not end within %v", path, testTimeout)
		}
	}
}

// dieWithParent is set per platform: on Linux the copy of the tests is
// killed if this process dies first.
var dieWithParent = func(*exec.Cmd) {}
