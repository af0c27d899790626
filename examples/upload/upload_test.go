package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wirekit/websocket"
	"github.com/wirekit/websocket/internal/wstest"
)

const (
	testChunk = 64 << 10
	testMax   = 1 << 20
)

// testServer serves uploads into a fresh directory, with small limits so
// the tests are quick. The idle timeout is long: a client that a loaded
// machine runs slowly must not look stalled.
func testServer(t *testing.T) (url, dir string, ws *websocket.Server) {
	t.Helper()
	return testServerIdle(t, time.Minute)
}

// testServerIdle is testServer with the given idle timeout.
func testServerIdle(t *testing.T, idle time.Duration) (url, dir string, ws *websocket.Server) {
	t.Helper()
	return testServerWith(t, idle, io.Discard)
}

// testServerWith is testServer with the given idle timeout and the
// server's log written to logw.
func testServerWith(t *testing.T, idle time.Duration, logw io.Writer) (url, dir string, ws *websocket.Server) {
	t.Helper()
	dir = t.TempDir()
	u := newUploader(dir, testMax, log.New(logw, "", 0))
	u.chunkSize = testChunk
	u.idle = idle
	handler, ws := routes(u)
	url = wstest.Serve(t, handler, ws)
	return "ws" + strings.TrimPrefix(url, "http") + "/ws", dir, ws
}

type client struct {
	t *testing.T
	c *wstest.Conn
}

func dial(t *testing.T, url string) *client {
	t.Helper()
	return &client{t: t, c: wstest.DialTest(t, url, nil)}
}

// reply is any server message, decoded loosely.
type reply struct {
	Type      string `json:"type"`
	ChunkSize int    `json:"chunkSize"`
	MaxSize   int64  `json:"maxSize"`
	Received  int64  `json:"received"`
	Name      string `json:"name"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	Code      string `json:"code"`
	Error     string `json:"error"`
}

func (c *client) read() reply {
	c.t.Helper()
	var r reply
	if err := c.c.ReadJSON(&r); err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return r
}

func (c *client) expect(typ string) reply {
	c.t.Helper()
	r := c.read()
	if r.Type != typ {
		c.t.Fatalf("got %+v, want a %q", r, typ)
	}
	return r
}

func (c *client) start(name string, size int64) {
	c.t.Helper()
	data, _ := json.Marshal(startMsg{Type: typeStart, Name: name, Size: size})
	if err := c.c.WriteText(string(data)); err != nil {
		c.t.Fatalf("start: %v", err)
	}
}

// end declares the SHA-256 of the bytes sent, as hex.
func (c *client) end(sum string) {
	c.t.Helper()
	data, _ := json.Marshal(endMsg{Type: typeEnd, SHA256: sum})
	if err := c.c.WriteText(string(data)); err != nil {
		c.t.Fatalf("end: %v", err)
	}
}

// sendAll sends data in chunks of the size the server announced and checks
// each acknowledgment.
func (c *client) sendAll(data []byte, chunk int) {
	c.t.Helper()
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		if err := c.c.WriteBinary(data[off:end]); err != nil {
			c.t.Fatalf("chunk: %v", err)
		}
		if p := c.expect(typeProgress); p.Received != int64(end) {
			c.t.Fatalf("progress %d, want %d", p.Received, end)
		}
	}
}

// upload runs a whole upload and returns the server's "done".
func (c *client) upload(name string, data []byte) reply {
	c.t.Helper()
	c.start(name, int64(len(data)))
	ready := c.expect(typeReady)
	c.sendAll(data, ready.ChunkSize)
	c.end(hashOf(data))
	return c.expect(typeDone)
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// files lists dir, temporary files included.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// wantFiles checks that dir holds exactly want.
func wantFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	if got := files(t, dir); !slices.Equal(got, want) {
		t.Fatalf("directory holds %q, want %q", got, want)
	}
}

// settledFiles waits for every handler to return, which Shutdown does,
// and checks that dir then holds exactly want. A handler runs on after
// its client sees the connection end, cleaning up.
func settledFiles(t *testing.T, ws *websocket.Server, dir string, want ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wstest.DefaultTimeout)
	defer cancel()
	if err := ws.Shutdown(ctx); err != nil {
		t.Fatalf("waiting for the handlers: %v", err)
	}
	wantFiles(t, dir, want...)
}

func TestUpload(t *testing.T) {
	url, dir, _ := testServer(t)
	c := dial(t, url)
	data := randomBytes(t, 3*testChunk+123) // a short last chunk
	c.start("report.bin", int64(len(data)))
	ready := c.expect(typeReady)
	if ready.ChunkSize != testChunk || ready.MaxSize != testMax {
		t.Fatalf("ready = %+v", ready)
	}
	c.sendAll(data, ready.ChunkSize)
	c.end(hashOf(data))
	done := c.expect(typeDone)
	if done.Name != "report.bin" || done.Size != int64(len(data)) || done.SHA256 != hashOf(data) {
		t.Fatalf("done = %+v", done)
	}
	got, err := os.ReadFile(filepath.Join(dir, "report.bin"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored file differs (%d bytes, %v)", len(got), err)
	}
	// The server commits the file before it says done.
	wantFiles(t, dir, "report.bin")

	// The same connection takes another upload; an empty file is one.
	if done := c.upload("empty.txt", nil); done.Size != 0 {
		t.Fatalf("empty upload: %+v", done)
	}
	wantFiles(t, dir, "empty.txt", "report.bin")
}

func TestUploadNeverOverwrites(t *testing.T) {
	url, dir, _ := testServer(t)
	old := []byte("already here")
	os.WriteFile(filepath.Join(dir, "notes.txt"), old, 0o600)

	c := dial(t, url)
	for i, want := range []string{"notes (1).txt", "notes (2).txt"} {
		data := []byte(strings.Repeat("new ", i+1))
		if done := c.upload("notes.txt", data); done.Name != want {
			t.Fatalf("stored as %q, want %q", done.Name, want)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, want)); !bytes.Equal(got, data) {
			t.Fatalf("%s holds %q", want, got)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); !bytes.Equal(got, old) {
		t.Fatalf("the original was changed to %q", got)
	}
}

func TestUploadRefusesBadStarts(t *testing.T) {
	url, dir, _ := testServer(t)
	c := dial(t, url)
	for _, tc := range []struct {
		name string
		size int64
		code string
	}{
		{"../escape.txt", 1, codeBadName},
		{"/etc/passwd", 1, codeBadName},
		{"..", 1, codeBadName},
		{".hidden", 1, codeBadName},
		{"", 1, codeBadName},
		{"big.bin", testMax + 1, codeTooLarge},
		{"neg.bin", -1, codeBadSize},
	} {
		c.start(tc.name, tc.size)
		if r := c.expect(typeError); r.Code != tc.code || r.Error == "" {
			t.Errorf("start(%q, %d): got %+v, want code %q", tc.name, tc.size, r, tc.code)
		}
	}
	c.c.WriteText(`{"type":"upload"}`)
	if r := c.expect(typeError); r.Code != codeBadRequest {
		t.Errorf("unknown type: got %+v", r)
	}
	// Refusals before any bytes keep the connection usable.
	c.upload("fine.txt", []byte("x"))
	wantFiles(t, dir, "fine.txt")
}

func TestUploadFailuresLeaveNothing(t *testing.T) {
	data := randomBytes(t, 2*testChunk)
	for _, tc := range []struct {
		name string
		// declared is the size the start announces, short of data's by
		// this much.
		short int64
		// run misbehaves after "ready" and returns the close code expected,
		// or 0 when the client itself drops the connection.
		run func(c *client) int
	}{
		{"hash mismatch", 0, func(c *client) int {
			damaged := slices.Clone(data)
			damaged[len(damaged)-1] ^= 1
			c.sendAll(damaged, testChunk)
			c.end(hashOf(data))
			if r := c.expect(typeError); r.Code != codeMismatch {
				c.t.Fatalf("got %+v", r)
			}
			return int(websocket.StatusPolicyViolation)
		}},
		{"hash not hex", 0, func(c *client) int {
			c.sendAll(data, testChunk)
			c.end(strings.Repeat("zz", 32))
			if r := c.expect(typeError); r.Code != codeBadHash {
				c.t.Fatalf("got %+v", r)
			}
			return int(websocket.StatusPolicyViolation)
		}},
		{"hash too short", 0, func(c *client) int {
			c.sendAll(data, testChunk)
			c.end(hashOf(data)[:62])
			if r := c.expect(typeError); r.Code != codeBadHash {
				c.t.Fatalf("got %+v", r)
			}
			return int(websocket.StatusPolicyViolation)
		}},
		{"bytes instead of the end", 0, func(c *client) int {
			c.sendAll(data, testChunk)
			c.c.WriteBinary([]byte{0})
			if r := c.expect(typeError); r.Code != codeBadRequest {
				c.t.Fatalf("got %+v", r)
			}
			return int(websocket.StatusPolicyViolation)
		}},
		{"more than declared", 10, func(c *client) int {
			c.sendAll(data[:testChunk], testChunk)
			c.c.WriteBinary(data[testChunk:])
			if r := c.expect(typeError); r.Code != codeBadSize {
				c.t.Fatalf("got %+v", r)
			}
			return int(websocket.StatusPolicyViolation)
		}},
		{"text instead of bytes", 0, func(c *client) int {
			c.c.WriteText(`{"type":"start"}`)
			if r := c.expect(typeError); r.Code != codeBadRequest {
				c.t.Fatalf("got %+v", r)
			}
			return int(websocket.StatusPolicyViolation)
		}},
		{"chunk over the read limit", 0, func(c *client) int {
			c.c.WriteBinary(data[:testChunk+1])
			return int(websocket.StatusMessageTooBig)
		}},
		{"client vanishes mid-upload", 0, func(c *client) int {
			c.sendAll(data[:testChunk], testChunk)
			c.c.CloseNow()
			return 0
		}},
		{"client closes mid-upload", 0, func(c *client) int {
			c.sendAll(data[:testChunk], testChunk)
			if err := c.c.Close(1000, ""); wstest.CloseCode(err) != 1000 {
				c.t.Fatalf("close: %v", err)
			}
			return 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, dir, ws := testServer(t)
			c := dial(t, url)
			c.start("file.bin", int64(len(data))-tc.short)
			c.expect(typeReady)
			if want := tc.run(c); want != 0 {
				if _, _, err := c.c.ReadMessage(nil); wstest.CloseCode(err) != want {
					t.Fatalf("got %v, want close %d", err, want)
				}
			}
			settledFiles(t, ws, dir) // no file, not even a temporary one
		})
	}
}

func TestUploadStalledClientTimesOut(t *testing.T) {
	// The trigger: the client never sends more, so a short timeout is safe.
	url, dir, ws := testServerIdle(t, 200*time.Millisecond)
	c := dial(t, url)
	data := randomBytes(t, 2*testChunk)
	c.start("slow.bin", int64(len(data)))
	c.expect(typeReady)
	c.sendAll(data[:testChunk], testChunk)
	// Send nothing more: the server gives up, and cleans up.
	if _, _, err := c.c.ReadMessage(nil); err == nil {
		t.Fatal("the server kept a stalled upload open")
	}
	settledFiles(t, ws, dir)
}

func TestUploadShutdownMidUpload(t *testing.T) {
	url, dir, ws := testServer(t)
	c := dial(t, url)
	data := randomBytes(t, 2*testChunk)
	c.start("file.bin", int64(len(data)))
	c.expect(typeReady)
	c.sendAll(data[:testChunk], testChunk)

	ctx, cancel := context.WithTimeout(context.Background(), wstest.DefaultTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ws.Shutdown(ctx) }()
	if _, _, err := c.c.ReadMessage(nil); wstest.CloseCode(err) != int(websocket.StatusGoingAway) {
		t.Fatalf("got %v, want close 1001", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// Shutdown waited for the handler, so the file is gone already.
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("directory holds %q after shutdown", got)
	}
}

// waitLogged waits until logs hold s.
func waitLogged(t *testing.T, logs *wstest.Buffer, s string) {
	t.Helper()
	if !logs.WaitFor(wstest.DefaultTimeout, func(log string) bool { return strings.Contains(log, s) }) {
		t.Fatalf("nothing logged about %q within %v; log:\n%s", s, wstest.DefaultTimeout, logs.String())
	}
}

// A page that closes as browsers do (close() with no status, 1001 as it
// leaves, 1000) is no news; one that vanishes mid-upload is logged.
func TestUploadLogsOnlyUnexpectedEnds(t *testing.T) {
	logs := new(wstest.Buffer)
	url, dir, ws := testServerWith(t, time.Minute, logs)
	for _, payload := range [][]byte{nil, wstest.ClosePayload(1001, ""), wstest.ClosePayload(1000, "")} {
		c := dial(t, url)
		c.upload("a.txt", []byte("a"))
		if err := c.c.Send(wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: payload}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.c.ReadMessage(nil); wstest.CloseCode(err) == 0 {
			t.Fatalf("close %x: got %v, want the server's Close", payload, err)
		}
	}
	gone := dial(t, url)
	data := randomBytes(t, 2*testChunk)
	gone.start("gone.bin", int64(len(data)))
	gone.expect(typeReady)
	gone.sendAll(data[:testChunk], testChunk)
	addr := gone.c.NetConn().LocalAddr().String()
	gone.c.CloseNow()
	// Wait for its handler to see the end: a shutdown before then would
	// be what ended the connection.
	waitLogged(t, logs, addr)

	settledFiles(t, ws, dir, "a (1).txt", "a (2).txt", "a.txt")
	var unexpected []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.HasPrefix(line, "upload: stored ") {
			unexpected = append(unexpected, line)
		}
	}
	if len(unexpected) != 1 || !strings.Contains(unexpected[0], addr) {
		t.Fatalf("log:\n%s\nwant one line besides the stored files, about the page that vanished", logs.String())
	}
}
