// Package wstest is a small RFC 6455 client for the examples' Go tests.
//
// It is written from the RFC, not from the library: it shares no framing or
// masking code with github.com/wirekit/websocket, so a server-side bug
// cannot hide by being on both ends of a test. It speaks only what the
// tests need: the opening handshake, masked text and binary messages,
// answering pings, and the closing handshake. It is not a general client:
// no extensions, no TLS, no fragmentation of what it sends.
package wstest

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Opcodes of RFC 6455 §5.2.
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// acceptGUID is the fixed string of RFC 6455 §1.3 that the server hashes
// with the client's key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// DefaultTimeout bounds each Dial, read and write when Conn.Timeout is
// zero, so a test against a server that stops answering fails rather than
// hangs.
const DefaultTimeout = 10 * time.Second

// maxMessage caps what Read assembles, so a broken server cannot make a
// test allocate without bound.
const maxMessage = 64 << 20

// A Conn is a client connection. Its methods are for one goroutine.
type Conn struct {
	// Timeout bounds each read and write; zero means DefaultTimeout.
	Timeout time.Duration

	nc        net.Conn
	br        *bufio.Reader
	closeSent bool

	Resp *http.Response // the server's 101 response
}

// A CloseError is returned by Read when the server sent a Close frame.
// Read has answered it already.
type CloseError struct {
	Code   int // 1005 when the frame had no code
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("wstest: server closed: %d %q", e.Code, e.Reason)
}

// A HandshakeError is returned by Dial when the server did not answer 101.
type HandshakeError struct {
	Status int
	Body   string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("wstest: handshake refused: %d %s", e.Status, strings.TrimSpace(e.Body))
}

// Dial opens a WebSocket to rawURL (ws://host:port/path) with the extra
// request headers hdr, which may be nil.
func Dial(ctx context.Context, rawURL string, hdr http.Header) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ws" {
		return nil, fmt.Errorf("wstest: scheme %q: only ws is supported", u.Scheme)
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	nc.SetDeadline(deadline)

	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Path: u.Path, RawQuery: u.RawQuery},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Host:       u.Host,
		Header:     http.Header{},
	}
	for name, vs := range hdr {
		req.Header[name] = vs
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	if err := req.Write(nc); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		nc.Close()
		return nil, &HandshakeError{Status: resp.StatusCode, Body: string(body)}
	}
	sum := sha1.Sum([]byte(key + acceptGUID))
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		nc.Close()
		return nil, fmt.Errorf("wstest: Sec-WebSocket-Accept %q, want %q", got, want)
	}
	nc.SetDeadline(time.Time{})
	return &Conn{nc: nc, br: br, Resp: resp}, nil
}

func (c *Conn) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// WriteFrame writes one masked frame, as a client must (RFC 6455 §5.3).
// Tests use it directly to send what WriteMessage would not: a fragment,
// a bad opcode, a frame larger than the server's limit.
func (c *Conn) WriteFrame(fin bool, op byte, payload []byte) error {
	hdr := make([]byte, 2, 14)
	hdr[0] = op
	if fin {
		hdr[0] |= 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		hdr[1] = 0x80 | byte(n)
	case n <= 0xFFFF:
		hdr[1] = 0x80 | 126
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr[1] = 0x80 | 127
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	masked := make([]byte, len(payload))
	for i, b := range payload {
		masked[i] = b ^ mask[i&3]
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.timeout()))
	_, err := (&net.Buffers{hdr, masked}).WriteTo(c.nc)
	return err
}

// WriteText sends s as one text message.
func (c *Conn) WriteText(s string) error { return c.WriteFrame(true, OpText, []byte(s)) }

// WriteBinary sends p as one binary message.
func (c *Conn) WriteBinary(p []byte) error { return c.WriteFrame(true, OpBinary, p) }

// readFrame reads one frame from the server, which must not mask it.
func (c *Conn) readFrame() (fin bool, op byte, payload []byte, err error) {
	c.nc.SetReadDeadline(time.Now().Add(c.timeout()))
	var h [2]byte
	if _, err = io.ReadFull(c.br, h[:]); err != nil {
		return
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0F
	if h[0]&0x70 != 0 {
		return false, 0, nil, fmt.Errorf("wstest: RSV bits set: %#x", h[0])
	}
	if h[1]&0x80 != 0 {
		return false, 0, nil, errors.New("wstest: server masked a frame")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(c.br, b[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(c.br, b[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > maxMessage {
		return false, 0, nil, fmt.Errorf("wstest: frame of %d bytes", n)
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(c.br, payload)
	return
}

// Read returns the next data message: its opcode (OpText or OpBinary) and
// payload, reassembled from fragments. It answers pings on the way. When
// the server closes, Read answers with the same code and returns a
// *CloseError.
func (c *Conn) Read() (op byte, msg []byte, err error) {
	for {
		fin, fop, payload, err := c.readFrame()
		if err != nil {
			return 0, nil, err
		}
		switch fop {
		case OpPing:
			if err := c.WriteFrame(true, OpPong, payload); err != nil {
				return 0, nil, err
			}
			continue
		case OpPong:
			continue
		case OpClose:
			ce := &CloseError{Code: 1005}
			if len(payload) >= 2 {
				ce.Code = int(binary.BigEndian.Uint16(payload))
				ce.Reason = string(payload[2:])
			}
			if !c.closeSent {
				c.closeSent = true
				c.WriteFrame(true, OpClose, payload[:min(len(payload), 2)])
			}
			c.nc.Close()
			return 0, nil, ce
		case OpText, OpBinary:
			if op != 0 {
				return 0, nil, errors.New("wstest: new message inside a fragmented one")
			}
			op = fop
		case OpContinuation:
			if op == 0 {
				return 0, nil, errors.New("wstest: continuation without a message")
			}
		default:
			return 0, nil, fmt.Errorf("wstest: unknown opcode %#x", fop)
		}
		if len(msg)+len(payload) > maxMessage {
			return 0, nil, errors.New("wstest: message too large")
		}
		msg = append(msg, payload...)
		if fin {
			return op, msg, nil
		}
	}
}

// ReadText returns the next message, which must be text.
func (c *Conn) ReadText() (string, error) {
	op, msg, err := c.Read()
	if err != nil {
		return "", err
	}
	if op != OpText {
		return "", fmt.Errorf("wstest: got opcode %#x, want text", op)
	}
	return string(msg), nil
}

// ReadJSON reads the next message, which must be text, and decodes it as
// JSON into v.
func (c *Conn) ReadJSON(v any) error {
	s, err := c.ReadText()
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("wstest: message %q: %w", s, err)
	}
	return nil
}

// Close starts the closing handshake with code and reason, waits for the
// server's Close (discarding data messages still in flight), and closes the
// connection. It returns the server's *CloseError, or the error that
// prevented the handshake.
func (c *Conn) Close(code int, reason string) error {
	defer c.nc.Close()
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	p = append(p, reason...)
	c.closeSent = true
	if err := c.WriteFrame(true, OpClose, p); err != nil {
		return err
	}
	for {
		_, _, err := c.Read()
		if err != nil {
			return err
		}
	}
}

// CloseNow drops the TCP connection without a closing handshake, as a
// crashed or unplugged client would.
func (c *Conn) CloseNow() error { return c.nc.Close() }

// CloseCode returns the code of a *CloseError in err's chain, or 0.
func CloseCode(err error) int {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// Shutdowner is a WebSocket server that can end its connections, as
// *websocket.Server can.
type Shutdowner interface {
	Shutdown(ctx context.Context) error
}

// Serve runs h on a loopback test server until the test ends and returns
// its http:// URL. At the end, ws (if not nil) is shut down first, so its
// connections close with 1001 before the listener goes.
func Serve(t testing.TB, h http.Handler, ws Shutdowner) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if ws != nil {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ws.Shutdown(ctx)
		})
	}
	return srv.URL
}

// DialTest dials url, failing the test if it cannot, and closes the
// connection when the test ends.
func DialTest(t testing.TB, url string) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}
