// Package h2test is a small HTTP/2 client that opens WebSockets the way
// RFC 8441 describes, for testing the server side of
// github.com/wirekit/websocket over HTTP/2: Go's own HTTP client cannot
// send the :protocol pseudo-header that an extended CONNECT needs.
//
// It is built on golang.org/x/net/http2's Framer and hpack and written
// from RFC 9113 and RFC 8441. A ClientConn is one connection, over TLS
// with ALPN "h2" as browsers use it, or cleartext with prior knowledge
// (h2c). It checks that the server's SETTINGS offer extended CONNECT
// (SETTINGS_ENABLE_CONNECT_PROTOCOL = 1), then opens any number of
// streams: WebSockets (OpenWebSocket) and ordinary requests (Do). A
// Stream is the byte stream of one WebSocket, read and written like a
// net.Conn, with flow control both ways: the client grants the server
// more window as the test reads, and waits for the server's grants before
// it sends. The WebSocket frames on a Stream are the test's to make; WS
// does that.
//
// It is a test client: no priorities, no server push (refused in its
// SETTINGS), no retries, and every wait is bounded by a deadline or a
// context that the caller sets.
package h2test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Defaults for Config.
const (
	DefaultStreamWindow = 1 << 20
	DefaultConnWindow   = 4 << 20
	defaultTimeout      = 10 * time.Second
	maxHeaderList       = 1 << 20
	initialWindow       = 65535 // RFC 9113 §6.9.2, before SETTINGS change it
	defaultMaxFrame     = 16384 // RFC 9113 §6.5.2
)

// Config configures a ClientConn. The zero value is cleartext HTTP/2 with
// the default windows.
type Config struct {
	// TLS, if set, makes Dial speak TLS with this configuration and ALPN
	// "h2" (NextProtos is set for it). Nil means cleartext HTTP/2 with
	// prior knowledge (h2c).
	TLS *tls.Config

	// StreamWindow is the flow-control window the client grants each
	// stream it opens (SETTINGS_INITIAL_WINDOW_SIZE): how much the server
	// may send on a stream that the test does not read. Zero means
	// DefaultStreamWindow.
	StreamWindow uint32

	// ConnWindow is the connection's window. Data is given back to it as
	// it arrives, not as it is read, so that a stream nobody reads holds
	// only its own window and never stalls the others. Zero means
	// DefaultConnWindow.
	ConnWindow uint32

	// ForceExtendedConnect sends extended CONNECTs even when the server
	// has not offered them, which RFC 8441 §3 forbids a real client: a
	// test uses it to see what a server without the setting does.
	ForceExtendedConnect bool

	// Timeout bounds the connection's opening (TCP, TLS, prefaces and the
	// server's SETTINGS). Zero means 10 seconds.
	Timeout time.Duration
}

// ErrNoExtendedConnect is returned by OpenWebSocket when the server's
// SETTINGS did not offer extended CONNECT.
var ErrNoExtendedConnect = errors.New("h2test: the server did not send SETTINGS_ENABLE_CONNECT_PROTOCOL=1")

// errConnClosed is what streams see after ClientConn.Close.
var errConnClosed = errors.New("h2test: connection closed")

// A ClientConn is one HTTP/2 connection and the streams open on it. Its
// methods are safe to call from any goroutine.
type ClientConn struct {
	nc        net.Conn
	authority string
	scheme    string
	cfg       Config

	// The write side: frames go out whole and in order under wmu. Stream
	// IDs are allocated under it too, since a HEADERS frame with a lower
	// ID must not follow one with a higher.
	wmu  sync.Mutex
	bw   *bufio.Writer
	fr   *http2.Framer // written under wmu, read only by readLoop
	henc *hpack.Encoder
	hbuf bytes.Buffer

	// The shared state, under mu. cond is broadcast on every change a
	// waiter may care about: windows, data, responses, resets, the end.
	mu            sync.Mutex
	cond          *sync.Cond
	streams       map[uint32]*Stream
	nextID        uint32
	peer          map[http2.SettingID]uint32 // the server's SETTINGS, as last received
	peerMaxFrame  uint32
	peerWindow    int32 // the server's SETTINGS_INITIAL_WINDOW_SIZE
	sendWin       int64 // the connection window the server granted
	recvWin       int64 // what the server may still send on the connection
	connUnacked   int64 // received bytes not yet given back to recvWin
	goAway        *GoAwayError
	err           error // why the connection ended; set once
	pings         map[[8]byte]chan struct{}
	framesRead    int
	done          chan struct{}
	readLoopEnded chan struct{}
}

// A GoAwayError says the server sent GOAWAY: streams above LastStreamID
// were not and will not be processed, and no new stream may open.
type GoAwayError struct {
	LastStreamID uint32
	Code         http2.ErrCode
	Debug        string
}

func (e *GoAwayError) Error() string {
	return fmt.Sprintf("h2test: server sent GOAWAY %v, last stream %d, %q", e.Code, e.LastStreamID, e.Debug)
}

// Dial connects to addr (host:port) and opens an HTTP/2 connection: TLS
// with ALPN h2 if cfg.TLS is set, else cleartext with prior knowledge.
// cfg may be nil.
func Dial(ctx context.Context, addr string, cfg *Config) (*ClientConn, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if cfg.TLS != nil {
		tc := cfg.TLS.Clone()
		tc.NextProtos = []string{"h2"}
		if tc.ServerName == "" {
			tc.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tlsConn := tls.Client(nc, tc)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		if p := tlsConn.ConnectionState().NegotiatedProtocol; p != "h2" {
			nc.Close()
			return nil, fmt.Errorf("h2test: the server chose ALPN %q, not h2", p)
		}
		nc, scheme = tlsConn, "https"
	}
	cc, err := newClientConn(ctx, nc, addr, scheme, *cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return cc, nil
}

// newClientConn speaks the connection preface over nc, reads the server's
// SETTINGS and starts the read loop.
func newClientConn(ctx context.Context, nc net.Conn, authority, scheme string, cfg Config) (*ClientConn, error) {
	if cfg.StreamWindow == 0 {
		cfg.StreamWindow = DefaultStreamWindow
	}
	if cfg.ConnWindow == 0 {
		cfg.ConnWindow = DefaultConnWindow
	}
	if cfg.StreamWindow > 1<<31-1 || cfg.ConnWindow > 1<<31-1 || cfg.ConnWindow < initialWindow {
		return nil, fmt.Errorf("h2test: windows out of range: stream %d, connection %d", cfg.StreamWindow, cfg.ConnWindow)
	}
	cc := &ClientConn{
		nc:            nc,
		authority:     authority,
		scheme:        scheme,
		cfg:           cfg,
		bw:            bufio.NewWriterSize(nc, 32<<10),
		streams:       make(map[uint32]*Stream),
		nextID:        1,
		peer:          make(map[http2.SettingID]uint32),
		peerMaxFrame:  defaultMaxFrame,
		peerWindow:    initialWindow,
		sendWin:       initialWindow,
		recvWin:       int64(cfg.ConnWindow),
		pings:         make(map[[8]byte]chan struct{}),
		done:          make(chan struct{}),
		readLoopEnded: make(chan struct{}),
	}
	cc.cond = sync.NewCond(&cc.mu)
	cc.fr = http2.NewFramer(cc.bw, bufio.NewReaderSize(nc, 32<<10))
	cc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	cc.fr.MaxHeaderListSize = maxHeaderList
	cc.fr.SetReuseFrames()
	cc.henc = hpack.NewEncoder(&cc.hbuf)

	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
	}
	// RFC 9113 §3.4: the preface, then SETTINGS, may go out before the
	// server's SETTINGS arrive.
	cc.bw.WriteString(http2.ClientPreface)
	cc.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: cfg.StreamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: maxHeaderList},
	)
	if d := cfg.ConnWindow - initialWindow; d > 0 {
		cc.fr.WriteWindowUpdate(0, d)
	}
	if err := cc.bw.Flush(); err != nil {
		return nil, err
	}
	// The server's preface is a SETTINGS frame (§3.4).
	f, err := cc.fr.ReadFrame()
	if err != nil {
		return nil, fmt.Errorf("h2test: reading the server's preface: %w", err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		return nil, fmt.Errorf("h2test: the server's preface is %v, not SETTINGS", f.Header())
	}
	if err := cc.applySettings(sf); err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	go cc.readLoop()
	return cc, nil
}

// applySettings takes the server's SETTINGS and acknowledges them.
func (cc *ClientConn) applySettings(sf *http2.SettingsFrame) error {
	cc.mu.Lock()
	err := sf.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		cc.peer[s.ID] = s.Val
		switch s.ID {
		case http2.SettingMaxFrameSize:
			cc.peerMaxFrame = s.Val
		case http2.SettingInitialWindowSize:
			// §6.9.2: the change applies to every open stream's window.
			delta := int64(s.Val) - int64(cc.peerWindow)
			cc.peerWindow = int32(s.Val)
			for _, st := range cc.streams {
				st.sendWin += delta
			}
		}
		return nil
	})
	cc.cond.Broadcast()
	cc.mu.Unlock()
	if err != nil {
		return err
	}
	return cc.write(func() error { return cc.fr.WriteSettingsAck() })
}

// write runs fn, which writes frames, under the write lock and flushes.
func (cc *ClientConn) write(fn func() error) error {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	if err := fn(); err != nil {
		return err
	}
	return cc.bw.Flush()
}

// ExtendedConnect reports whether the server offered extended CONNECT.
func (cc *ClientConn) ExtendedConnect() bool {
	v, _ := cc.Setting(http2.SettingEnableConnectProtocol)
	return v == 1
}

// Setting returns one of the server's SETTINGS as last received, and
// whether the server sent it at all.
func (cc *ClientConn) Setting(id http2.SettingID) (uint32, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	v, ok := cc.peer[id]
	return v, ok
}

// LocalAddr is the client's end of the TCP connection: the address the
// server sees for every stream on it.
func (cc *ClientConn) LocalAddr() net.Addr { return cc.nc.LocalAddr() }

// RemoteAddr is the server's address.
func (cc *ClientConn) RemoteAddr() net.Addr { return cc.nc.RemoteAddr() }

// SendWindow is the connection-level window the server has granted and
// the client not yet used.
func (cc *ClientConn) SendWindow() int64 {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.sendWin
}

// WaitSendWindow waits until the connection window the server granted is
// at most atMost bytes, or ctx ends. At zero, no stream can send DATA.
func (cc *ClientConn) WaitSendWindow(ctx context.Context, atMost int64) error {
	return cc.waitFor(ctx, func() (bool, error) { return cc.sendWin <= atMost, nil })
}

// waitFor waits until cond, called with cc.mu held, reports true or an
// error, the connection ends, or ctx ends.
func (cc *ClientConn) waitFor(ctx context.Context, cond func() (bool, error)) error {
	stop := context.AfterFunc(ctx, cc.wake)
	defer stop()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for {
		if ok, err := cond(); ok || err != nil {
			return err
		}
		if cc.err != nil {
			return cc.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cc.cond.Wait()
	}
}

// Done is closed when the connection has ended; Err then says why.
func (cc *ClientConn) Done() <-chan struct{} { return cc.done }

// Err returns why the connection ended, or nil while it is open.
func (cc *ClientConn) Err() error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.err
}

// GoAway returns the server's GOAWAY, or nil if none came.
func (cc *ClientConn) GoAway() *GoAwayError {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.goAway
}

// Close sends GOAWAY and closes the connection; open streams fail.
func (cc *ClientConn) Close() error {
	cc.write(func() error { return cc.fr.WriteGoAway(0, http2.ErrCodeNo, nil) })
	cc.fail(errConnClosed)
	err := cc.nc.Close()
	<-cc.readLoopEnded
	return err
}

// fail ends the connection with err, if it has not ended yet, and wakes
// every waiter.
func (cc *ClientConn) fail(err error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.err != nil {
		return
	}
	cc.err = err
	close(cc.done)
	cc.cond.Broadcast()
}

// Ping sends a PING and waits for its acknowledgement: a round trip that
// proves the connection itself still works.
func (cc *ClientConn) Ping(ctx context.Context) error {
	var data [8]byte
	rand.Read(data[:])
	ack := make(chan struct{})
	cc.mu.Lock()
	if cc.err != nil {
		cc.mu.Unlock()
		return cc.err
	}
	cc.pings[data] = ack
	cc.mu.Unlock()
	defer func() {
		cc.mu.Lock()
		delete(cc.pings, data)
		cc.mu.Unlock()
	}()
	if err := cc.write(func() error { return cc.fr.WritePing(false, data) }); err != nil {
		return err
	}
	select {
	case <-ack:
		return nil
	case <-cc.done:
		return cc.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readLoop reads every frame the server sends and hands it to its stream.
func (cc *ClientConn) readLoop() {
	defer close(cc.readLoopEnded)
	for {
		f, err := cc.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				// A malformed frame of one stream: that stream ends.
				cc.resetLocal(se.StreamID, se.Code, fmt.Errorf("h2test: stream %d: %w", se.StreamID, err))
				continue
			}
			if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
				err = fmt.Errorf("h2test: connection closed by the server (%w)", err)
			}
			cc.fail(err)
			return
		}
		cc.mu.Lock()
		cc.framesRead++
		cc.mu.Unlock()
		if err := cc.handle(f); err != nil {
			cc.write(func() error { return cc.fr.WriteGoAway(0, http2.ErrCodeProtocol, []byte(err.Error())) })
			cc.fail(err)
			cc.nc.Close()
			return
		}
	}
}

// handle processes one frame; an error is a connection error.
func (cc *ClientConn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		return cc.applySettings(f)
	case *http2.PingFrame:
		if f.IsAck() {
			cc.mu.Lock()
			if ack, ok := cc.pings[f.Data]; ok {
				close(ack)
				delete(cc.pings, f.Data)
			}
			cc.mu.Unlock()
			return nil
		}
		return cc.write(func() error { return cc.fr.WritePing(true, f.Data) })
	case *http2.WindowUpdateFrame:
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if f.StreamID == 0 {
			cc.sendWin += int64(f.Increment)
			if cc.sendWin > 1<<31-1 {
				return errors.New("h2test: the server overflowed the connection window")
			}
		} else if st := cc.streams[f.StreamID]; st != nil {
			st.sendWin += int64(f.Increment)
		}
		cc.cond.Broadcast()
		return nil
	case *http2.MetaHeadersFrame:
		return cc.handleHeaders(f)
	case *http2.DataFrame:
		return cc.handleData(f)
	case *http2.RSTStreamFrame:
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if st := cc.streams[f.StreamID]; st != nil {
			st.reset = &ResetError{StreamID: f.StreamID, Code: f.ErrCode, Remote: true}
			delete(cc.streams, f.StreamID)
			cc.cond.Broadcast()
		}
		return nil
	case *http2.GoAwayFrame:
		cc.mu.Lock()
		defer cc.mu.Unlock()
		ga := &GoAwayError{LastStreamID: f.LastStreamID, Code: f.ErrCode, Debug: string(f.DebugData())}
		cc.goAway = ga
		for id, st := range cc.streams {
			if id > f.LastStreamID {
				st.reset = &ResetError{StreamID: id, Code: http2.ErrCodeRefusedStream, Remote: true, GoAway: ga}
				delete(cc.streams, id)
			}
		}
		cc.cond.Broadcast()
		return nil
	case *http2.PushPromiseFrame:
		return errors.New("h2test: PUSH_PROMISE after SETTINGS_ENABLE_PUSH=0")
	}
	return nil // PRIORITY and unknown frames are ignored (§5.5)
}

func (cc *ClientConn) handleHeaders(f *http2.MetaHeadersFrame) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	st := cc.streams[f.StreamID]
	if st == nil {
		return nil // a stream this side reset or closed
	}
	if f.Truncated {
		return errors.New("h2test: response headers over the size limit")
	}
	if st.resp == nil {
		status, err := strconv.Atoi(f.PseudoValue("status"))
		if err != nil {
			return fmt.Errorf("h2test: stream %d: response without a valid :status", f.StreamID)
		}
		if status >= 100 && status < 200 {
			return nil // informational; the real response follows
		}
		h := make(http.Header)
		for _, hf := range f.RegularFields() {
			h.Add(http.CanonicalHeaderKey(hf.Name), hf.Value)
		}
		st.resp = &Response{Status: status, Header: h}
	}
	if f.StreamEnded() {
		st.remoteEnded = true
		cc.forgetIfDone(st)
	}
	cc.cond.Broadcast()
	return nil
}

// handleData takes a DATA frame into its stream's buffer, within the
// windows this side granted.
func (cc *ClientConn) handleData(f *http2.DataFrame) error {
	n := int64(f.Header().Length) // padding counts against the windows too
	data := f.Data()
	cc.mu.Lock()
	if n > cc.recvWin {
		cc.mu.Unlock()
		return fmt.Errorf("h2test: the server sent %d bytes past the connection window", n-cc.recvWin)
	}
	cc.recvWin -= n
	cc.connUnacked += n
	st := cc.streams[f.StreamID]
	var resetStream bool
	if st != nil {
		switch {
		case st.resp == nil:
			resetStream = true // DATA before HEADERS: malformed (§8.1)
		case n > st.recvWin:
			resetStream = true // §6.9.1: a stream-level flow-control error
		default:
			st.recvWin -= n
			st.unacked += n - int64(len(data)) // padding is never read
			if !st.closed {
				if st.off > 0 && st.off >= len(st.buf)-st.off {
					// Keep the buffer from creeping: move what is
					// unread to its start.
					st.buf = st.buf[:copy(st.buf, st.buf[st.off:])]
					st.off = 0
				}
				st.buf = append(st.buf, data...)
			} else {
				st.unacked += int64(len(data))
			}
			if f.StreamEnded() {
				st.remoteEnded = true
				cc.forgetIfDone(st)
			}
			cc.cond.Broadcast()
		}
	}
	// The connection's window goes back as data arrives: each stream's
	// own window is what bounds the data held for it.
	var connInc int64
	if cc.connUnacked >= int64(cc.cfg.ConnWindow)/4 {
		connInc = cc.connUnacked
		cc.connUnacked = 0
		cc.recvWin += connInc
	}
	cc.mu.Unlock()
	if resetStream {
		cc.resetLocal(f.StreamID, http2.ErrCodeFlowControl, errors.New("h2test: the server broke the stream's flow control or sent DATA before HEADERS"))
	}
	if connInc > 0 {
		return cc.write(func() error { return cc.fr.WriteWindowUpdate(0, uint32(connInc)) })
	}
	return nil
}

// forgetIfDone drops a stream whose both halves have ended. Called with
// cc.mu held.
func (cc *ClientConn) forgetIfDone(st *Stream) {
	if st.remoteEnded && st.localEnded && len(st.buf) == st.off {
		delete(cc.streams, st.id)
	}
}

// resetLocal resets a stream from this side with code, telling the
// server, and makes its reads and writes return err.
func (cc *ClientConn) resetLocal(id uint32, code http2.ErrCode, err error) {
	cc.mu.Lock()
	st := cc.streams[id]
	if st != nil {
		st.reset = &ResetError{StreamID: id, Code: code, cause: err}
		delete(cc.streams, id)
		cc.cond.Broadcast()
	}
	cc.mu.Unlock()
	cc.write(func() error { return cc.fr.WriteRSTStream(id, code) })
}

// A Response is a response's head and, from Do, its body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte // Do only
}

// A HandshakeError is OpenWebSocket's answer to a response other than
// 200.
type HandshakeError struct {
	Response
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("h2test: extended CONNECT answered %d: %s", e.Status, strings.TrimSpace(string(e.Body)))
}

// A ResetError ends a stream that was reset, by the server (Remote) or by
// this side, or refused by the server's GOAWAY.
type ResetError struct {
	StreamID uint32
	Code     http2.ErrCode
	Remote   bool
	GoAway   *GoAwayError // set when the stream was refused by GOAWAY
	cause    error
}

func (e *ResetError) Error() string {
	who := "this side"
	if e.Remote {
		who = "the server"
	}
	s := fmt.Sprintf("h2test: stream %d reset by %s with %v", e.StreamID, who, e.Code)
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *ResetError) Unwrap() error { return e.cause }

// openStream sends a HEADERS frame with fields on a new stream, ending it
// at once if endStream, and returns the stream.
func (cc *ClientConn) openStream(fields []hpack.HeaderField, endStream bool) (*Stream, error) {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	cc.mu.Lock()
	if cc.err != nil {
		cc.mu.Unlock()
		return nil, cc.err
	}
	if cc.goAway != nil {
		cc.mu.Unlock()
		return nil, cc.goAway
	}
	if max, ok := cc.peer[http2.SettingMaxConcurrentStreams]; ok && uint32(len(cc.streams)) >= max {
		cc.mu.Unlock()
		return nil, fmt.Errorf("h2test: the server allows %d streams at once", max)
	}
	id := cc.nextID
	cc.nextID += 2
	st := &Stream{
		cc:         cc,
		id:         id,
		sendWin:    int64(cc.peerWindow),
		recvWin:    int64(cc.cfg.StreamWindow),
		localEnded: endStream,
	}
	cc.streams[id] = st
	maxFrame := int(cc.peerMaxFrame)
	cc.mu.Unlock()

	cc.hbuf.Reset()
	for _, f := range fields {
		cc.henc.WriteField(f)
	}
	block := cc.hbuf.Bytes()
	first := true
	for first || len(block) > 0 {
		chunk := block[:min(len(block), maxFrame)]
		block = block[len(chunk):]
		var err error
		if first {
			err = cc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: chunk, EndStream: endStream, EndHeaders: len(block) == 0})
			first = false
		} else {
			err = cc.fr.WriteContinuation(id, len(block) == 0, chunk)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := cc.bw.Flush(); err != nil {
		return nil, err
	}
	return st, nil
}

// requestFields are the pseudo-headers and headers of a request, names in
// lower case as HTTP/2 requires (§8.2.1).
func (cc *ClientConn) requestFields(pseudo []hpack.HeaderField, hdr http.Header) []hpack.HeaderField {
	fields := pseudo
	for name, values := range hdr {
		for _, v := range values {
			fields = append(fields, hpack.HeaderField{Name: strings.ToLower(name), Value: v})
		}
	}
	return fields
}

// OpenWebSocket opens a WebSocket on a new stream with an extended CONNECT
// (RFC 8441 §4) for path, with the extra request headers hdr (may be nil:
// Origin, Sec-WebSocket-Protocol and -Extensions go here;
// Sec-WebSocket-Version 13 is added unless hdr sets it). It waits for the
// response within ctx: a 200 opens the stream, anything else is a
// *HandshakeError with the status and body.
func (cc *ClientConn) OpenWebSocket(ctx context.Context, path string, hdr http.Header) (*Stream, *Response, error) {
	if !cc.ExtendedConnect() && !cc.cfg.ForceExtendedConnect {
		return nil, nil, ErrNoExtendedConnect
	}
	h := hdr.Clone()
	if h == nil {
		h = make(http.Header)
	}
	if _, ok := h["Sec-Websocket-Version"]; !ok {
		h.Set("Sec-WebSocket-Version", "13")
	}
	fields := cc.requestFields([]hpack.HeaderField{
		{Name: ":method", Value: http.MethodConnect},
		{Name: ":protocol", Value: "websocket"},
		{Name: ":scheme", Value: cc.scheme},
		{Name: ":path", Value: path},
		{Name: ":authority", Value: cc.authority},
	}, h)
	st, err := cc.openStream(fields, false)
	if err != nil {
		return nil, nil, err
	}
	resp, err := st.awaitResponse(ctx)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	if resp.Status != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(st, 4<<10))
		st.Close()
		return nil, resp, &HandshakeError{Response{Status: resp.Status, Header: resp.Header, Body: body}}
	}
	return st, resp, nil
}

// Do sends an ordinary request for path with the extra headers hdr (may
// be nil) and body (nil for none) on a new stream, and returns the
// response with its whole body, which must come within ctx.
func (cc *ClientConn) Do(ctx context.Context, method, path string, hdr http.Header, body []byte) (*Response, error) {
	h := hdr.Clone()
	if h == nil {
		h = make(http.Header)
	}
	if body != nil {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	fields := cc.requestFields([]hpack.HeaderField{
		{Name: ":method", Value: method},
		{Name: ":scheme", Value: cc.scheme},
		{Name: ":path", Value: path},
		{Name: ":authority", Value: cc.authority},
	}, h)
	st, err := cc.openStream(fields, body == nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if d, ok := ctx.Deadline(); ok {
		st.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { st.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if body != nil {
		if _, err := st.Write(body); err != nil {
			return nil, err
		}
		if err := st.CloseWrite(); err != nil {
			return nil, err
		}
	}
	resp, err := st.awaitResponse(ctx)
	if err != nil {
		return nil, err
	}
	resp.Body, err = io.ReadAll(io.LimitReader(st, 64<<20))
	if err != nil {
		return nil, err
	}
	return resp, nil
}
