package h2test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/wirekit/websocket"
)

// The echo benchmarks: one binary message sent and its echo read, per op,
// over HTTP/1.1 and over HTTP/2, TLS and cleartext, with the same client
// code (WS) and the same library server, a ReadMessage/WriteMessage loop.
//
// BenchmarkEcho runs the server in this process, so its B/op and
// allocs/op count both ends. BenchmarkEchoClientOnly runs the same server
// in a child process (this test binary again, see benchServerEnv), so its
// counts are the client's alone; the server's are the difference. Both run
// with GODEBUG=http2xconnect=1 (TestMain sees to it).
//
//	go test -run '^$' -bench Echo -benchmem .
//
// What HTTP/2 adds per message, on the server (the allocations are the
// in-process figures minus the client-only ones; go1.26, cleartext, 2
// cores, 27 Nov 2026): HTTP/1.1 0 allocations at every size; HTTP/2 2
// (96 B) at 16 B, 3 (112 B) at 1 KiB, 10 (340 B) at 16 KiB, 19 (870 B)
// at 64 KiB. The library itself allocates nothing per message on either;
// a memory profile puts all of it in net/http's HTTP/2 server:
//
//   - Writing. A frame goes through the ResponseWriter (a 4 KiB bufio
//     buffer, then Flush) to net/http's connection goroutine, over a
//     channel, and the handler waits on another for it to be written.
//     The write scheduler cuts it into DATA frames no larger than the
//     client's SETTINGS_MAX_FRAME_SIZE (16 KiB unless the client raises
//     it), 9 bytes of header each, allocating for each cut
//     (FrameWriteRequest.Consume); a DATA frame that does not fit the
//     connection's write buffer is written by a goroutine started for it
//     (startFrameWrite).
//   - Reading. A DATA frame is read by net/http's reader goroutine,
//     handed to the connection goroutine, copied into the stream's body
//     buffer, and copied again when the handler reads it: two copies and
//     two goroutine hand-offs where a hijacked TCP connection has one
//     read into the library's buffer.
//   - Flow control. As the handler reads, net/http gives the window back
//     with WINDOW_UPDATE frames (13 bytes; for the stream and for the
//     connection, once 4 KiB or more is owed), each an allocation
//     (sendWindowUpdate); the client's WINDOW_UPDATEs for what the server
//     sent are parsed the same way.
//
// Each WebSocket over HTTP/2 also keeps net/http's handler goroutine and
// its stream state (the request body's buffer, the response writer's)
// for its whole life, where an HTTP/1.1 upgrade hands the connection over
// and net/http forgets it. Over TLS, each DATA frame is also a TLS record
// of its own. The ns/op figures move with the machine's load by a factor
// of two or more between runs here (2 cores shared with other work): in
// the runs made they did not separate the two protocols reliably at any
// size, so only the allocations are claimed here.

var benchSizes = []struct {
	name string
	n    int
}{{"16B", 16}, {"1KiB", 1 << 10}, {"16KiB", 16 << 10}, {"64KiB", 64 << 10}}

// benchHandler is the server: each message back as it came.
func benchHandler(c *websocket.Conn, r *http.Request) {
	ctx := context.Background()
	buf := make([]byte, 0, 64<<10)
	for {
		typ, p, err := c.ReadMessage(ctx, buf)
		if err != nil {
			return
		}
		if err := c.WriteMessage(ctx, typ, p); err != nil {
			return
		}
		buf = p[:0]
	}
}

func BenchmarkEcho(b *testing.B) {
	servers := map[string]*testServer{}
	for _, clear := range []bool{false, true} {
		ws := websocket.Handler(benchHandler)
		ws.Options.ReadLimit = 1 << 20
		ts := serve(b, ws, serverOpts{clear: clear, ws: ws})
		servers[transportName(clear)] = ts
	}
	benchEcho(b, servers)
}

func BenchmarkEchoClientOnly(b *testing.B) {
	benchEcho(b, startBenchServer(b))
}

func transportName(clear bool) string {
	if clear {
		return "clear"
	}
	return "tls"
}

func benchEcho(b *testing.B, servers map[string]*testServer) {
	for _, tr := range []string{"tls", "clear"} {
		ts := servers[tr]
		for _, proto := range []string{"h1", "h2"} {
			for _, size := range benchSizes {
				b.Run(fmt.Sprintf("%s/%s/%s", tr, proto, size.name), func(b *testing.B) {
					var ws *WS
					if proto == "h1" {
						ws, _ = ts.dialH1(b, "/")
					} else {
						ws, _ = openWS(b, ts.dial(b, nil), "/", nil)
					}
					msg := bytes.Repeat([]byte{0xA5}, size.n)
					buf := make([]byte, 0, size.n)
					roundTrip := func() {
						if err := ws.WriteBinary(msg); err != nil {
							b.Fatal(err)
						}
						_, p, err := ws.ReadMessage(buf)
						if err != nil || len(p) != size.n {
							b.Fatalf("echo: %d bytes, %v", len(p), err)
						}
						buf = p
					}
					for range 100 { // connection set up, windows and buffers warm
						roundTrip()
					}
					b.SetBytes(int64(size.n))
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						roundTrip()
					}
					b.StopTimer()
					ws.Close(1000, "")
				})
			}
		}
	}
}

// benchServerEnv makes TestMain serve instead of testing: the child of
// startBenchServer.
const benchServerEnv = "H2TEST_BENCH_SERVER"

func init() {
	if os.Getenv(benchServerEnv) == "1" {
		runBenchServer()
	}
}

// runBenchServer serves benchHandler on two loopback ports, TLS and
// cleartext, prints "tls ADDR CERT" and "clear ADDR" on standard output
// and exits when standard input closes.
func runBenchServer() {
	cert, err := testCert()
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for _, clear := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		ws := websocket.Handler(benchHandler)
		ws.Options.ReadLimit = 1 << 20
		srv := &http.Server{Handler: ws, Protocols: new(http.Protocols)}
		srv.Protocols.SetHTTP1(true)
		if clear {
			srv.Protocols.SetUnencryptedHTTP2(true)
			go srv.Serve(ln)
			fmt.Println("clear", ln.Addr())
		} else {
			srv.Protocols.SetHTTP2(true)
			srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
			go srv.ServeTLS(ln, "", "")
			fmt.Println("tls", ln.Addr(), base64.StdEncoding.EncodeToString(cert.Leaf.Raw))
		}
	}
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// startBenchServer runs this test binary again as the benchmarks' server
// and returns its servers by transport.
func startBenchServer(b *testing.B) map[string]*testServer {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	var once sync.Once
	b.Cleanup(func() {
		once.Do(func() {
			stdin.Close()
			cmd.Wait()
		})
	})
	servers := map[string]*testServer{}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for len(servers) < 2 && sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "clear":
			servers["clear"] = &testServer{addr: f[1]}
		case len(f) == 3 && f[0] == "tls":
			der, err := base64.StdEncoding.DecodeString(f[2])
			if err != nil {
				b.Fatal(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				b.Fatal(err)
			}
			pool := x509.NewCertPool()
			pool.AddCert(cert)
			servers["tls"] = &testServer{addr: f[1], clientTLS: &tls.Config{RootCAs: pool}}
		default:
			b.Fatalf("the benchmark server said %q", sc.Text())
		}
	}
	if len(servers) < 2 {
		b.Fatalf("the benchmark server did not start: %v", sc.Err())
	}
	return servers
}
