package websocket

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wirekit/websocket/internal/wstest"
)

// The client's offer for each setting (deflateOffer).
func TestDeflateOffer(t *testing.T) {
	for _, tc := range []struct {
		opts CompressionOptions
		want string
	}{
		{CompressionOptions{}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=13"},
		{CompressionOptions{ContextTakeover: true}, "permessage-deflate; server_no_context_takeover; client_max_window_bits=13"},
		{CompressionOptions{ContextTakeover: true, PeerContextTakeover: true},
			"permessage-deflate; server_max_window_bits=13; client_max_window_bits=13, permessage-deflate; client_max_window_bits=13"},
		{CompressionOptions{PeerContextTakeover: true},
			"permessage-deflate; server_max_window_bits=13; client_no_context_takeover; client_max_window_bits=13, permessage-deflate; client_no_context_takeover; client_max_window_bits=13"},
		{CompressionOptions{ContextTakeover: true, PeerContextTakeover: true, WindowBits: 15}, "permessage-deflate; client_max_window_bits"},
		{CompressionOptions{ContextTakeover: true, PeerContextTakeover: true, WindowBits: 8},
			"permessage-deflate; server_max_window_bits=9; client_max_window_bits=8, permessage-deflate; client_max_window_bits=8"},
		{CompressionOptions{WindowBits: 99}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits"},
	} {
		if got := deflateOffer(&tc.opts); got != tc.want {
			t.Errorf("%+v: offer %q, want %q", tc.opts, got, tc.want)
		}
		// Every offer is one the library's server accepts.
		offers, err := parseExtensions([]string{deflateOffer(&tc.opts)})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok := negotiateDeflate(offers, deflateConfig{}); !ok {
			t.Errorf("%+v: the server declines the offer", tc.opts)
		}
	}
}

// The client reads the server's answer to its offer: the windows and
// contexts agreed, read from this side ("server" is the client itself), or
// an error for an answer that accepts none of the offers.
func TestAcceptDeflateResponse(t *testing.T) {
	both := &CompressionOptions{ContextTakeover: true, PeerContextTakeover: true}
	none := &CompressionOptions{}
	wide := &CompressionOptions{ContextTakeover: true, PeerContextTakeover: true, WindowBits: 15}
	for _, tc := range []struct {
		opts   *CompressionOptions
		answer string
		want   deflateParams
		err    string // part of the error; "" for none
	}{
		{both, "permessage-deflate", deflateParams{serverMaxWindowBits: 13, clientMaxWindowBits: 15}, ""},
		{both, "permessage-deflate; server_max_window_bits=13", deflateParams{serverMaxWindowBits: 13, clientMaxWindowBits: 13}, ""},
		{both, "permessage-deflate; server_max_window_bits=9; client_max_window_bits=10", deflateParams{serverMaxWindowBits: 10, clientMaxWindowBits: 9}, ""},
		{both, "permessage-deflate; client_max_window_bits=8", deflateParams{serverMaxWindowBits: 8, clientMaxWindowBits: 15}, ""},
		{both, "permessage-deflate; server_max_window_bits=15", deflateParams{serverMaxWindowBits: 13, clientMaxWindowBits: 15}, ""},
		{both, "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
			deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 13, clientMaxWindowBits: 15}, ""},
		// A server may ignore the value offered (RFC 7692 §7.1.2.2): the
		// client keeps the window it promised.
		{both, "permessage-deflate; client_max_window_bits=15", deflateParams{serverMaxWindowBits: 13, clientMaxWindowBits: 15}, ""},
		{both, "permessage-deflate; client_max_window_bits", deflateParams{}, "client_max_window_bits"},
		{both, "permessage-deflate; server_max_window_bits", deflateParams{}, "server_max_window_bits"},
		{both, "permessage-deflate; server_max_window_bits=16", deflateParams{}, "server_max_window_bits"},
		{both, "permessage-deflate; server_max_window_bits=9; server_max_window_bits=9", deflateParams{}, "twice"},
		{both, "permessage-deflate; client_window=9", deflateParams{}, "unknown"},
		{both, "permessage-deflate, permessage-deflate", deflateParams{}, "not offered"},
		{both, "x-webkit-deflate-frame", deflateParams{}, "not offered"},
		{none, "permessage-deflate; server_no_context_takeover",
			deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 13, clientMaxWindowBits: 15}, ""},
		{none, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12",
			deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 10}, ""},
		{none, "permessage-deflate", deflateParams{}, "server_no_context_takeover, which was asked for"},
		{wide, "permessage-deflate", deflateParams{serverMaxWindowBits: 15, clientMaxWindowBits: 15}, ""},
		{wide, "permessage-deflate; client_max_window_bits=15", deflateParams{serverMaxWindowBits: 15, clientMaxWindowBits: 15}, ""},
		{wide, "permessage-deflate; client_max_window_bits=9; server_max_window_bits=8", deflateParams{serverMaxWindowBits: 9, clientMaxWindowBits: 8}, ""},
	} {
		offer := deflateOffer(tc.opts)
		got, err := acceptDeflateResponse([]string{tc.answer}, offer, tc.opts)
		switch {
		case tc.err == "" && (err != nil || got == nil || *got != tc.want):
			t.Errorf("offer %q, answer %q: %+v, %v; want %+v", offer, tc.answer, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("offer %q, answer %q: %+v, %v; want an error naming %q", offer, tc.answer, got, err, tc.err)
		}
	}
}

// The library's client against its server, for a matrix of settings on
// each side: what they agree is what both sides' settings allow, and the
// event corpus goes through both ways with each side's windows as agreed.
func TestDeflateWindowsClientServer(t *testing.T) {
	events := loadEvents(t)[:120]
	settings := []*CompressionOptions{
		{},
		{ContextTakeover: true, PeerContextTakeover: true},
		{ContextTakeover: true, PeerContextTakeover: true, WindowBits: 10, MemLevel: 1},
		{ContextTakeover: true, PeerContextTakeover: true, WindowBits: 15, MemLevel: 9, Level: 9},
		{ContextTakeover: true, PeerContextTakeover: true, WindowBits: 8},
		{PeerContextTakeover: true, WindowBits: 11},
	}
	for _, so := range settings {
		for _, co := range settings {
			t.Run(fmt.Sprintf("server %+v client %+v", *so, *co), func(t *testing.T) {
				srv := make(chan *deflateState, 1)
				s := Handler(func(c *Conn, r *http.Request) {
					srv <- c.deflate
					echoHandler(nil)(c, r)
				})
				s.Options.Compression = so
				u := dialTestServer(t, s)
				ctx := context.Background()
				c, resp, err := Dial(ctx, u, &DialOptions{Proxy: noProxy, Compression: co})
				if err != nil {
					t.Fatal(err)
				}
				defer c.CloseNow()
				sd, cd := await(t, srv, "the server's connection"), c.deflate
				if sd == nil || cd == nil {
					t.Fatalf("no compression agreed (%q)", resp.Header.Get("Sec-WebSocket-Extensions"))
				}
				// Each side's compressor keeps to the smaller of the
				// settings when the other side keeps its history, and the
				// other side keeps no more history than that window, nor
				// less.
				check := func(who string, w, r *deflateState, wo, ro *CompressionOptions) {
					if w.windowBits > wo.windowBits() {
						t.Errorf("%s compresses with %d bits, over its setting %d", who, w.windowBits, wo.windowBits())
					}
					if w.serverTakeover != (wo.ContextTakeover && ro.PeerContextTakeover) || r.clientTakeover != w.serverTakeover {
						t.Errorf("%s keeps its context %v, its peer keeps the history %v", who, w.serverTakeover, r.clientTakeover)
					}
					if r.clientTakeover {
						if r.histSize < 1<<w.windowBits {
							t.Errorf("%s compresses with %d bits, its peer keeps %d bytes", who, w.windowBits, r.histSize)
						}
						if r.histSize > 1<<max(ro.peerWindowBits(), w.windowBits) {
							t.Errorf("%s's peer keeps %d bytes of history, over its setting", who, r.histSize)
						}
					}
				}
				check("the server", sd, cd, so, co)
				check("the client", cd, sd, co, so)
				for i, m := range events {
					if err := c.WriteMessage(ctx, MessageText, m); err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
					if _, got, err := c.ReadMessage(ctx, nil); err != nil || !bytes.Equal(got, m) {
						t.Fatalf("message %d: %q, %v", i, got, err)
					}
				}
				if err := c.Close(StatusNormalClosure, ""); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// The history kept for a client with context takeover is the window the
// client agreed to, no more: a client that keeps to it is read right, and
// one that refers back further fails the connection with 1007, as any
// corrupt stream does.
func TestDeflateHistoryIsTheClientWindow(t *testing.T) {
	events := loadEvents(t)
	for _, tc := range []struct {
		name        string
		clientBits  int // the window the test's client compresses with
		wantHistory int
		wantFail    bool
	}{
		{"within the window", 9, 512, false},
		{"beyond the window", 15, 512, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hist := make(chan int, 1)
			done := make(chan error, 1)
			s := Handler(func(c *Conn, r *http.Request) {
				var err error
				for err == nil {
					_, _, err = c.ReadMessage(context.Background(), nil)
					if len(c.deflate.hist) > 0 {
						select {
						case hist <- len(c.deflate.hist):
						default:
						}
					}
				}
				done <- err
			})
			s.Options.Compression = &CompressionOptions{PeerContextTakeover: true, WindowBits: 9}
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate; client_max_window_bits"}})
			if got := c.Resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(got, "client_max_window_bits=9") {
				t.Fatalf("answer %q", got)
			}
			// Messages that repeat what came 600 bytes before: within a
			// 32 KiB window, not a 512-byte one.
			d := deflateClient{windowBits: tc.clientBits}
			var msgs [][]byte
			for i := range 6 {
				msgs = append(msgs, bytes.Join(events[i%3*4:i%3*4+4], []byte(" ")))
			}
			for _, m := range msgs {
				send(t, c, wstest.Frame{Fin: true, RSV: wstest.RSV1, Op: wstest.OpText, Payload: d.compress(m, false)})
			}
			if got := await(t, hist, "the server's history"); got != tc.wantHistory {
				t.Errorf("history of %d bytes, want %d", got, tc.wantHistory)
			}
			if tc.wantFail {
				expectClose(t, c, 1007)
				if err := await(t, done, "the handler"); !errors.Is(err, ErrBadCompression) {
					t.Fatalf("handler: %v", err)
				}
				return
			}
			sendClose(t, c, 1000)
			expectClose(t, c, 1000)
		})
	}
}

// What the library's compressor sends at each window size inflates with
// compress/flate given only the window's worth of history, message after
// message, through a Conn: the whole write path (staging, threshold,
// fragments, the stripped tail) keeps to the window.
func TestDeflateConnWindowRoundTrip(t *testing.T) {
	events := loadEvents(t)
	msgs := append(events[:60:60], bytes.Repeat(events[5], 300), events[6], bytes.Join(events[:40], nil))
	for bits := deflateMinWindowBits; bits <= deflateMaxWindowBits; bits++ {
		t.Run(fmt.Sprint(bits), func(t *testing.T) {
			var wire bytes.Buffer
			c := newConn(&rwBuffer{w: &wire}, nil, "", &Options{WriteBufferSize: 4096})
			c.deflate = newDeflateState(c, &CompressionOptions{ContextTakeover: true, Threshold: -1}, deflateParams{serverMaxWindowBits: bits})
			c.rsvOK = rsv1Bit
			for _, m := range msgs {
				if err := c.WriteMessage(context.Background(), MessageText, m); err != nil {
					t.Fatal(err)
				}
			}
			var history []byte
			for i, m := range msgs {
				var payload []byte
				for {
					fin, p, err := nextServerFrame(&wire)
					if err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
					payload = append(payload, p...)
					if fin {
						break
					}
				}
				dict := history[max(0, len(history)-1<<bits):]
				got, err := io.ReadAll(flate.NewReaderDict(bytes.NewReader(append(payload, deflateTail...)), dict))
				if err != nil || !bytes.Equal(got, m) {
					t.Fatalf("window %d, message %d: %v (%d bytes, want %d)", bits, i, err, len(got), len(m))
				}
				history = append(history, m...)
			}
		})
	}
}

// rwBuffer is a transport that reads nothing and keeps what is written.
type rwBuffer struct{ w *bytes.Buffer }

func (b *rwBuffer) Read(p []byte) (int, error)  { return 0, io.EOF }
func (b *rwBuffer) Write(p []byte) (int, error) { return b.w.Write(p) }
func (b *rwBuffer) Close() error                { return nil }

// nextServerFrame takes an unmasked frame off b: its FIN bit and payload.
func nextServerFrame(b *bytes.Buffer) (fin bool, payload []byte, err error) {
	h := b.Next(2)
	if len(h) < 2 || h[1]&0x80 != 0 {
		return false, nil, errors.New("no unmasked frame header")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		n = uint64(binary.BigEndian.Uint16(b.Next(2)))
	case 127:
		n = binary.BigEndian.Uint64(b.Next(8))
	}
	if uint64(b.Len()) < n {
		return false, nil, io.ErrUnexpectedEOF
	}
	return h[0]&0x80 != 0, b.Next(int(n)), nil
}
