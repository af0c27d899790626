package websocket

// Review of the Broadcaster, Rooms and Dial (issues 11 and 12): each test
// here fails on the code it was written against, for the reason its
// comment gives. They are the reviewer's; the fixes are the lead's.

import (
	"bytes"
	"compress/flate"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Dial offers "permessage-deflate; server_no_context_takeover" (the
// default, PeerContextTakeover false). A server that answers a bare
// "permessage-deflate" has not accepted server_no_context_takeover (RFC
// 7692 §7.1.1.1) and keeps its context. The check meant to refuse that
// answer (dial.go:514) can never fire: p.clientNoContextTakeover starts
// true whenever the offer asked for it (dial.go:481), so the client goes
// ahead resetting its inflater for every message (compress.go:113) and
// fails on the server's second message, which refers to the first.
// Either Dial refuses the answer, or the client reads both messages.
func TestReviewDialDeflateAnswerWithoutServerNoContextTakeover(t *testing.T) {
	msg := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog. "), 4)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer nc.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + AcceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n" +
			"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
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
		io.Copy(io.Discard, nc)
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

// throttledTransport takes each write whole, after per: a socket that
// drains steadily at len(p)/per. Writes fail once it is closed.
type throttledTransport struct {
	per    time.Duration
	once   sync.Once
	closed chan struct{}
}

func newThrottledTransport(per time.Duration) *throttledTransport {
	return &throttledTransport{per: per, closed: make(chan struct{})}
}

func (s *throttledTransport) Read(p []byte) (int, error) { <-s.closed; return 0, io.EOF }
func (s *throttledTransport) Write(p []byte) (int, error) {
	select {
	case <-time.After(s.per):
		return len(p), nil
	case <-s.closed:
		return 0, net.ErrClosed
	}
}
func (s *throttledTransport) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// stuckTransport is a peer that never reads: writes block until the
// transport is closed, and so do reads, so that nothing outlives a test.
type stuckTransport struct {
	once   sync.Once
	closed chan struct{}
}

func newStuckTransport() *stuckTransport { return &stuckTransport{closed: make(chan struct{})} }

func (s *stuckTransport) Read(p []byte) (int, error)  { <-s.closed; return 0, io.EOF }
func (s *stuckTransport) Write(p []byte) (int, error) { <-s.closed; return 0, net.ErrClosed }
func (s *stuckTransport) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}
