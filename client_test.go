package websocket

// A small WebSocket client for the tests, with its own frame encoder and
// decoder: it shares no code with frame.go or mask.go, so a bug there cannot
// hide itself by being on both ends.

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

type testClient struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
	resp *http.Response
}

type testFrame struct {
	fin     bool
	rsv     byte // the three RSV bits as 0..7
	op      byte
	payload []byte
}

// dialTest opens a WebSocket to the server at addr (host:port) with extra
// request headers, and checks the 101.
func dialTest(t testing.TB, addr, path string, hdr http.Header) *testClient {
	t.Helper()
	c, resp, err := dialRaw(addr, path, hdr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	c.t = t
	return c
}

func dialRaw(addr, path string, hdr http.Header) (*testClient, *http.Response, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, nil, err
	}
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", path, addr, key)
	for name, vs := range hdr {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", name, v)
		}
	}
	b.WriteString("\r\n")
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, b.String()); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(h[:]); got != want {
			conn.Close()
			return nil, nil, fmt.Errorf("Sec-WebSocket-Accept %q, want %q", got, want)
		}
	}
	conn.SetDeadline(time.Time{})
	return &testClient{conn: conn, br: br, resp: resp}, resp, nil
}

// encodeClientFrame builds a masked frame, byte by byte.
func encodeClientFrame(f testFrame, masked bool) []byte {
	b0 := f.op | f.rsv<<4
	if f.fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	var mbit byte
	if masked {
		mbit = 0x80
	}
	n := len(f.payload)
	switch {
	case n < 126:
		out = append(out, mbit|byte(n))
	case n < 65536:
		out = append(out, mbit|126, byte(n>>8), byte(n))
	default:
		out = append(out, mbit|127)
		for i := 7; i >= 0; i-- {
			out = append(out, byte(uint64(n)>>(8*i)))
		}
	}
	if !masked {
		return append(out, f.payload...)
	}
	var key [4]byte
	rand.Read(key[:])
	out = append(out, key[:]...)
	for i, c := range f.payload {
		out = append(out, c^key[i%4])
	}
	return out
}

func (c *testClient) send(f testFrame) {
	c.t.Helper()
	c.sendRaw(encodeClientFrame(f, true))
}

func (c *testClient) sendRaw(b []byte) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *testClient) sendMessage(op byte, p []byte) {
	c.t.Helper()
	c.send(testFrame{fin: true, op: op, payload: p})
}

// readFrame reads one server frame; servers never mask.
func (c *testClient) readFrame() (testFrame, error) {
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return testFrame{}, err
	}
	if h[1]&0x80 != 0 {
		return testFrame{}, fmt.Errorf("server frame is masked")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(c.br, e[:]); err != nil {
			return testFrame{}, err
		}
		n = uint64(e[0])<<8 | uint64(e[1])
		if n < 126 {
			return testFrame{}, fmt.Errorf("16-bit length %d is not minimal", n)
		}
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(c.br, e[:]); err != nil {
			return testFrame{}, err
		}
		n = binary.BigEndian.Uint64(e[:])
		if n < 65536 {
			return testFrame{}, fmt.Errorf("64-bit length %d is not minimal", n)
		}
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return testFrame{}, err
	}
	return testFrame{fin: h[0]&0x80 != 0, rsv: (h[0] >> 4) & 7, op: h[0] & 0xf, payload: p}, nil
}

// readMessage reads frames until a whole data message, answering nothing;
// control frames in between are returned through ctrl if non-nil.
func (c *testClient) readMessage() (byte, []byte, error) {
	var op byte
	var msg []byte
	for {
		f, err := c.readFrame()
		if err != nil {
			return 0, nil, err
		}
		if f.op >= 8 {
			if f.op == 8 {
				return 8, f.payload, nil
			}
			continue
		}
		if f.op != 0 {
			op = f.op
		}
		msg = append(msg, f.payload...)
		if f.fin {
			return op, msg, nil
		}
	}
}

// expectClose reads until a Close frame and checks its code, then checks
// that the server closes the TCP connection.
func (c *testClient) expectClose(code uint16) {
	c.t.Helper()
	for {
		f, err := c.readFrame()
		if err != nil {
			c.t.Fatalf("waiting for close %d: %v", code, err)
		}
		if f.op != 8 {
			continue
		}
		var got uint16
		if len(f.payload) >= 2 {
			got = binary.BigEndian.Uint16(f.payload)
		}
		if got != code {
			c.t.Fatalf("close code %d (%q), want %d", got, f.payload, code)
		}
		// Answer, as a client does, then expect the server to drop TCP.
		c.conn.Write(encodeClientFrame(testFrame{fin: true, op: 8, payload: f.payload[:min(2, len(f.payload))]}, true))
		c.expectEOF()
		return
	}
}

// expectEOF checks that the server closes the connection, then closes the
// client's side as a browser does when the server's FIN arrives.
func (c *testClient) expectEOF() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c.br)
	c.conn.Close()
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.t.Fatalf("server did not close the connection")
	}
}

func (c *testClient) close() { c.conn.Close() }

func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}
