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

// acceptGUID is the fixed string of RFC 6455 §1.3 that the server hashes
// with the client's key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// DefaultTimeout bounds the handshake and each read and write when
// Conn.Timeout is zero. It is generous on purpose: it turns a server that
// stops answering into a failure instead of a hang, and should never be
// what a test measures.
const DefaultTimeout = 10 * time.Second

// maxFrame caps a frame or message this client reads, so that a broken
// server cannot make a test allocate without bound.
const maxFrame = 64 << 20

// A Conn is a client connection. Its methods may be called from two
// goroutines at once, one reading and one writing, except that
// ReadMessage, ExpectClose and Close write too (pongs and Close frames).
type Conn struct {
	// Timeout bounds each read and write; zero means DefaultTimeout.
	Timeout time.Duration
	// Resp is the server's 101 response.
	Resp *http.Response

	nc        net.Conn
	br        *bufio.Reader
	closeSent bool
	ctrl      [125]byte // a control frame's payload, read by ReadMessage
}

// A CloseError is a Close frame from the server: ReadMessage and Close
// return it.
type CloseError struct {
	Code   int // 1005 when the frame had no code
	Reason string
}

// Error says the server closed, with its code and reason.
func (e *CloseError) Error() string {
	return fmt.Sprintf("wstest: server closed: %d %q", e.Code, e.Reason)
}

// A HandshakeError is returned by Dial and Handshake when the server did
// not answer 101.
type HandshakeError struct {
	Status int
	Body   string         // the first 4 KiB of the response body
	Resp   *http.Response // the response, its body read
}

// Error says the handshake was refused, with the status and the body.
func (e *HandshakeError) Error() string {
	return fmt.Sprintf("wstest: handshake refused: %d %s", e.Status, strings.TrimSpace(e.Body))
}

// Dial opens a WebSocket to rawURL (ws://host:port/path?query) with the
// extra request headers hdr, which may be nil.
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
	c, err := Handshake(nc, u.Host, u.RequestURI(), hdr)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// Handshake makes the opening handshake of RFC 6455 §4.1 over nc, a
// connection already open to host (a TLS one, say), asking for path with
// the extra request headers hdr, and checks the server's 101 and its
// Sec-WebSocket-Accept. On failure nc is left open for the caller to close.
func Handshake(nc net.Conn, host, path string, hdr http.Header) (*Conn, error) {
	nc.SetDeadline(time.Now().Add(DefaultTimeout))
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Opaque: path},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Host:       host,
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
		return nil, err
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return nil, &HandshakeError{Status: resp.StatusCode, Body: string(body), Resp: resp}
	}
	sum := sha1.Sum([]byte(key + acceptGUID))
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
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

// NetConn is the connection under the WebSocket, for a test that writes
// raw bytes at its own pace, with its own deadlines. What the server sends
// is read through the Conn's methods: they hold its buffered input.
func (c *Conn) NetConn() net.Conn { return c.nc }

// WriteRaw writes b as it is: frames a test built, or anything else.
func (c *Conn) WriteRaw(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(c.timeout()))
	_, err := c.nc.Write(b)
	return err
}

// Send writes f as a client must: masked with a fresh random key. Sending
// a Close frame starts the closing handshake: a Close that comes back is
// then not answered again.
func (c *Conn) Send(f Frame) error {
	if f.Op == OpClose {
		c.closeSent = true
	}
	return c.WriteRaw(f.Masked())
}

// WriteText sends s as one text message.
func (c *Conn) WriteText(s string) error {
	return c.Send(Frame{Fin: true, Op: OpText, Payload: []byte(s)})
}

// WriteBinary sends p as one binary message.
func (c *Conn) WriteBinary(p []byte) error {
	return c.Send(Frame{Fin: true, Op: OpBinary, Payload: p})
}

// ReadFrame reads the next frame, answering nothing. It holds the server
// to what RFC 6455 requires of every frame a server sends: no mask (§5.1),
// the length in its shortest form (§5.2), and control frames that are
// whole and at most 125 bytes (§5.5). RSV bits are reported, not judged:
// what they may be depends on the extensions agreed. The payload is read
// into buf when it has room, so a test that passes the last frame's
// payload back reads without allocating.
func (c *Conn) ReadFrame(buf []byte) (Frame, error) {
	fin, rsv, op, n, err := c.readHeader()
	if err != nil {
		return Frame{}, err
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(c.br, buf); err != nil {
		return Frame{}, err
	}
	return Frame{Fin: fin, RSV: rsv, Op: op, Payload: buf}, nil
}

// readHeader reads and checks a server frame's header (see ReadFrame). It
// reads byte by byte from the buffer, so that it allocates nothing.
func (c *Conn) readHeader() (fin bool, rsv, op byte, n uint64, err error) {
	c.nc.SetReadDeadline(time.Now().Add(c.timeout()))
	b0, err := c.br.ReadByte()
	if err != nil {
		return
	}
	b1, err := c.br.ReadByte()
	if err != nil {
		return
	}
	fin, rsv, op = b0&0x80 != 0, b0>>4&7, b0&0x0F
	if b1&0x80 != 0 {
		return fin, rsv, op, 0, errors.New("wstest: the server masked a frame")
	}
	n = uint64(b1 & 0x7F)
	if n >= 126 {
		size, minimum := 2, uint64(126)
		if n == 127 {
			size, minimum = 8, 0x10000
		}
		n = 0
		for range size {
			b, err := c.br.ReadByte()
			if err != nil {
				return fin, rsv, op, 0, err
			}
			n = n<<8 | uint64(b)
		}
		if n < minimum {
			return fin, rsv, op, n, fmt.Errorf("wstest: a length of %d in the %d-bit form is not minimal", n, size*8)
		}
	}
	if op >= 8 && (!fin || n > 125) {
		return fin, rsv, op, n, fmt.Errorf("wstest: control frame %#x of %d bytes, fin %v", op, n, fin)
	}
	if n > maxFrame {
		return fin, rsv, op, n, fmt.Errorf("wstest: a frame of %d bytes", n)
	}
	return fin, rsv, op, n, nil
}

// ReadMessage returns the next data message, reassembled from its
// fragments into buf (reused when it has room), with its opcode (OpText or
// OpBinary). It answers pings and skips pongs on the way. A Close from the
// server is answered with its code (unless this side sent one first), the
// connection is closed, and the Close is returned as a *CloseError; if it
// cut a fragmented message short, op and msg are what had come of that.
// RSV bits are an error: this reader agrees no extension.
func (c *Conn) ReadMessage(buf []byte) (op byte, msg []byte, err error) {
	msg = buf[:0]
	for {
		fin, rsv, fop, n, err := c.readHeader()
		if err != nil {
			return 0, msg, err
		}
		if rsv != 0 {
			return 0, msg, fmt.Errorf("wstest: RSV bits %d on opcode %#x", rsv, fop)
		}
		if fop >= 8 {
			p := c.ctrl[:n]
			if _, err := io.ReadFull(c.br, p); err != nil {
				return 0, msg, err
			}
			switch fop {
			case OpPing:
				if err := c.Send(Frame{Fin: true, Op: OpPong, Payload: p}); err != nil {
					return 0, msg, err
				}
			case OpPong:
			case OpClose:
				ce := &CloseError{Code: 1005}
				if len(p) >= 2 {
					ce.Code = int(binary.BigEndian.Uint16(p))
					ce.Reason = string(p[2:])
				}
				if !c.closeSent {
					c.Send(Frame{Fin: true, Op: OpClose, Payload: p[:min(len(p), 2)]})
				}
				c.nc.Close()
				return op, msg, ce
			default:
				return 0, msg, fmt.Errorf("wstest: unknown opcode %#x", fop)
			}
			continue
		}
		switch {
		case fop == OpContinuation && op == 0:
			return 0, msg, errors.New("wstest: a continuation without a message")
		case fop != OpContinuation && op != 0:
			return 0, msg, errors.New("wstest: a new message inside a fragmented one")
		case fop != OpContinuation && fop != OpText && fop != OpBinary:
			return 0, msg, fmt.Errorf("wstest: unknown opcode %#x", fop)
		case fop != OpContinuation:
			op = fop
		}
		if uint64(len(msg))+n > maxFrame {
			return 0, msg, errors.New("wstest: message too large")
		}
		start := len(msg)
		msg = append(msg, make([]byte, n)...)
		if _, err := io.ReadFull(c.br, msg[start:]); err != nil {
			return 0, msg, err
		}
		if fin {
			return op, msg, nil
		}
	}
}

// ReadText returns the next message, which must be text.
func (c *Conn) ReadText() (string, error) {
	op, msg, err := c.ReadMessage(nil)
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

// ReadClose reads frames, skipping all others, until the server's Close,
// and returns its code (1005 when it has none) and reason. It answers
// nothing, so the test decides what comes next.
func (c *Conn) ReadClose() (code int, reason string, err error) {
	var f Frame
	for {
		if f, err = c.ReadFrame(f.Payload); err != nil {
			return 0, "", err
		}
		if f.Op != OpClose {
			continue
		}
		if len(f.Payload) < 2 {
			return 1005, "", nil
		}
		return int(binary.BigEndian.Uint16(f.Payload)), string(f.Payload[2:]), nil
	}
}

// ExpectClose reads until the server's Close and checks that its code is
// code; then it answers with that code (unless this side sent a Close
// first), and expects the server to close TCP, as RFC 6455 §7.1.1 has a
// server do once the handshake is done.
func (c *Conn) ExpectClose(code int) error {
	got, reason, err := c.ReadClose()
	if err != nil {
		return fmt.Errorf("waiting for a Close %d: %w", code, err)
	}
	if got != code {
		return fmt.Errorf("close code %d (%q), want %d", got, reason, code)
	}
	if !c.closeSent {
		c.Send(Frame{Fin: true, Op: OpClose, Payload: ClosePayload(code, "")})
	}
	return c.ExpectEOF()
}

// ExpectEOF waits for the server to close the TCP connection, discarding
// what it sends before, then closes this side, as a browser does when the
// server's FIN arrives. Only a server that keeps the connection open past
// the timeout is an error: a reset closes it too.
func (c *Conn) ExpectEOF() error {
	c.nc.SetReadDeadline(time.Now().Add(c.timeout()))
	_, err := io.Copy(io.Discard, c.br)
	c.nc.Close()
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return fmt.Errorf("wstest: the server did not close the connection within %v", c.timeout())
	}
	return nil
}

// Close starts the closing handshake with code and reason, waits for the
// server's Close (discarding data messages still in flight), and closes the
// connection. It returns the server's *CloseError, or the error that
// prevented the handshake.
func (c *Conn) Close(code int, reason string) error {
	defer c.nc.Close()
	if err := c.Send(Frame{Fin: true, Op: OpClose, Payload: ClosePayload(code, reason)}); err != nil {
		return err
	}
	for {
		if _, _, err := c.ReadMessage(nil); err != nil {
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
			ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
			defer cancel()
			ws.Shutdown(ctx)
		})
	}
	return srv.URL
}

// DialTest dials url with the extra request headers hdr (may be nil),
// failing the test if it cannot, and drops the connection when the test
// ends.
func DialTest(t testing.TB, url string, hdr http.Header) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), url, hdr)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}
