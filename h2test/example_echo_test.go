package h2test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wirekit/websocket"
	"golang.org/x/net/http2"
)

// examples/echo -tls, the server the browser tests use, run as a process
// so that its GODEBUG is its own: without http2xconnect=1 it does not
// offer extended CONNECT and HTTP/1.1 upgrades still work on the same
// server; with it, WebSockets run over HTTP/2, it logs each one with its
// protocol and the client's address, and SIGINT says 1001 to them all.
func TestExampleEchoTLS(t *testing.T) {
	bin := buildEcho(t)

	t.Run("GODEBUG without http2xconnect=1", func(t *testing.T) {
		echo := startEcho(t, bin, false)
		if !strings.Contains(echo.listening, "HTTP/2 WebSockets off") {
			t.Errorf("startup line %q does not say HTTP/2 WebSockets are off", echo.listening)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		cc, err := Dial(ctx, echo.addr, &Config{TLS: echo.pinned()})
		if err != nil {
			t.Fatalf("HTTP/2 over TLS: %v", err)
		}
		defer cc.Close()
		if v, ok := cc.Setting(http2.SettingEnableConnectProtocol); ok {
			t.Errorf("the server sent SETTINGS_ENABLE_CONNECT_PROTOCOL=%d without http2xconnect=1", v)
		}
		if _, _, err := cc.OpenWebSocket(ctx, "/", nil); !errors.Is(err, ErrNoExtendedConnect) {
			t.Errorf("OpenWebSocket: %v, want ErrNoExtendedConnect", err)
		}
		// A client that sends one anyway has its stream refused.
		rude, err := Dial(ctx, echo.addr, &Config{TLS: echo.pinned(), ForceExtendedConnect: true})
		if err != nil {
			t.Fatal(err)
		}
		defer rude.Close()
		_, _, err = rude.OpenWebSocket(ctx, "/", nil)
		var re *ResetError
		if !errors.As(err, &re) || re.Code != http2.ErrCodeProtocol {
			t.Errorf("an extended CONNECT the server did not offer: %v, want RST_STREAM(PROTOCOL_ERROR)", err)
		}

		// HTTP/1.1 upgrades on the same server, with the library's client.
		c, _, err := websocket.Dial(ctx, "wss://"+echo.addr+"/", &websocket.DialOptions{
			TLSConfig: echo.pinned(),
			Proxy:     func(*http.Request) (*url.URL, error) { return nil, nil },
		})
		if err != nil {
			t.Fatalf("HTTP/1.1 upgrade: %v", err)
		}
		if err := c.WriteMessage(ctx, websocket.MessageText, []byte("over HTTP/1.1")); err != nil {
			t.Fatal(err)
		}
		if typ, p, err := c.ReadMessage(ctx, nil); err != nil || typ != websocket.MessageText || string(p) != "over HTTP/1.1" {
			t.Fatalf("HTTP/1.1 echo: %v %q %v", typ, p, err)
		}
		c.Close(websocket.StatusNormalClosure, "")
		echo.waitLine(t, regexp.MustCompile(`echo: HTTP/1\.1 WebSocket from 127\.0\.0\.1:\d+`))
		echo.stop(t)
	})

	t.Run("GODEBUG=http2xconnect=1", func(t *testing.T) {
		echo := startEcho(t, bin, true)
		if !strings.Contains(echo.listening, "HTTP/2 WebSockets on") {
			t.Errorf("startup line %q does not say HTTP/2 WebSockets are on", echo.listening)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		cc, err := Dial(ctx, echo.addr, &Config{TLS: echo.pinned()})
		if err != nil {
			t.Fatalf("HTTP/2 over TLS: %v", err)
		}
		defer cc.Close()
		var clients []*WS
		for i := range 2 {
			ws, _ := openWS(t, cc, "/", nil)
			text := fmt.Sprintf("socket %d", i)
			if err := ws.WriteText(text); err != nil {
				t.Fatal(err)
			}
			if op, p, err := ws.ReadMessage(nil); err != nil || op != OpText || string(p) != text {
				t.Fatalf("socket %d: %#x %q %v", i, op, p, err)
			}
			if err := ws.WriteBinary([]byte{0, 1, 2, 255}); err != nil {
				t.Fatal(err)
			}
			if op, p, err := ws.ReadMessage(nil); err != nil || op != OpBinary || string(p) != "\x00\x01\x02\xff" {
				t.Fatalf("socket %d: %#x %q %v", i, op, p, err)
			}
			clients = append(clients, ws)
		}
		line := regexp.MustCompile(`echo: HTTP/2\.0 WebSocket from ` + regexp.QuoteMeta(cc.LocalAddr().String()) + `\n`)
		echo.waitLines(t, line, 2)

		// SIGINT: each WebSocket gets 1001, then its stream ends.
		echo.cmd.Process.Signal(os.Interrupt)
		for i, ws := range clients {
			if _, _, err := ws.ReadMessage(nil); CloseCode(err) != 1001 {
				t.Fatalf("socket %d on SIGINT: %v, want the server's close 1001", i, err)
			}
			if err := ws.ExpectEOF(); err != nil {
				t.Fatalf("socket %d after the 1001: %v, want its stream's end", i, err)
			}
		}
		echo.stop(t)
	})
}

// buildEcho builds examples/echo from the root module.
func buildEcho(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "echo")
	ctx, cancel := context.WithTimeout(context.Background(), buildLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/wirekit/websocket/examples/echo")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building examples/echo: %v\n%s", err, out)
	}
	return bin
}

// An echoProc is examples/echo -tls running as a child process.
type echoProc struct {
	cmd         *exec.Cmd
	addr        string
	fingerprint [32]byte // of the certificate, from its log line
	listening   string   // the startup line
	exited      chan error

	mu   sync.Mutex
	cond *sync.Cond
	log  strings.Builder
	eof  bool
}

var (
	certLine   = regexp.MustCompile(`echo: certificate SHA-256 ([0-9A-F:]{95}) `)
	listenLine = regexp.MustCompile(`echo: listening on wss://(\S+) \(.*\)`)
)

// startEcho runs bin -tls on a free loopback port, with http2xconnect=1
// in its GODEBUG or without it, and reads its address and certificate
// fingerprint from its log. It is killed, if still running, when the test
// ends.
func startEcho(t *testing.T, bin string, xconnect bool) *echoProc {
	t.Helper()
	cmd := exec.Command(bin, "-tls", "-addr", "127.0.0.1:0")
	var env []string
	for _, kv := range os.Environ() {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			var keep []string
			for _, s := range strings.Split(v, ",") {
				if s != "" && !strings.HasPrefix(s, "http2xconnect=") {
					keep = append(keep, s)
				}
			}
			kv = "GODEBUG=" + strings.Join(keep, ",")
		}
		env = append(env, kv)
	}
	if xconnect {
		env = append(env, "GODEBUG=http2xconnect=1")
	}
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &echoProc{cmd: cmd, exited: make(chan error, 1)}
	p.cond = sync.NewCond(&p.mu)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.cond.Broadcast()
			p.mu.Unlock()
		}
		p.mu.Lock()
		p.eof = true
		p.cond.Broadcast()
		p.mu.Unlock()
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("examples/echo's log:\n%s", p.logText())
		}
	})
	m := p.waitLine(t, listenLine)
	p.addr, p.listening = m[1], m[0]
	fp := p.waitLine(t, certLine)[1]
	for i := range p.fingerprint {
		fmt.Sscanf(fp[3*i:3*i+2], "%02X", &p.fingerprint[i])
	}
	return p
}

func (p *echoProc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitLine waits for a log line matching re and returns its submatches.
func (p *echoProc) waitLine(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	var m []string
	p.waitFor(t, re.String(), func(log string) bool {
		m = re.FindStringSubmatch(log)
		return m != nil
	})
	return m
}

// waitLines waits for n log lines matching re.
func (p *echoProc) waitLines(t *testing.T, re *regexp.Regexp, n int) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("%d × %s", n, re), func(log string) bool {
		return len(re.FindAllString(log, -1)) >= n
	})
}

func (p *echoProc) waitFor(t *testing.T, what string, ok func(string) bool) {
	t.Helper()
	timer := time.AfterFunc(testTimeout, func() {
		p.mu.Lock()
		p.eof = true // stop waiting
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer timer.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for !ok(p.log.String()) {
		if p.eof {
			t.Fatalf("examples/echo logged no %q (log ended or %v passed)", what, testTimeout)
		}
		p.cond.Wait()
	}
}

// pinned is a TLS configuration that trusts the echo's certificate by the
// fingerprint it logged, and nothing else.
func (p *echoProc) pinned() *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true, // replaced by the check below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || sha256.Sum256(raw[0]) != p.fingerprint {
				return errors.New("the certificate is not the one examples/echo logged")
			}
			return nil
		},
	}
}

// stop interrupts the echo, as Ctrl-C would, and checks that it exits
// with status 0.
func (p *echoProc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("examples/echo exited with %v after SIGINT", err)
		}
	case <-time.After(testTimeout):
		t.Errorf("examples/echo did not exit within %v of SIGINT", testTimeout)
	}
}
