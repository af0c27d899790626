package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"time"

	"github.com/wirekit/websocket"
)

// uploader serves the upload endpoint.
type uploader struct {
	store     *store
	maxSize   int64
	chunkSize int
	// idle bounds the wait for the next chunk of an upload in progress,
	// so a page that stalls mid-upload does not hold a temporary file and
	// a connection forever. Between uploads, keepalive watches the page.
	idle time.Duration
	// writeTimeout bounds each reply.
	writeTimeout time.Duration
	log          *log.Logger
}

// serve runs uploads on one connection, one after another, until the page
// closes it or an upload fails.
func (u *uploader) serve(c *websocket.Conn, r *http.Request) {
	for {
		err := u.next(c)
		if err == nil {
			continue
		}
		var end *endError
		switch {
		case errors.As(err, &end):
			// The page has been told why; the Close repeats it for
			// clients that only look at close codes.
			status := websocket.StatusPolicyViolation
			if end.f.Code == codeServer {
				status = websocket.StatusInternalError
			}
			c.Close(status, end.f.Message)
		case ordinaryEnd(err):
		default:
			u.log.Printf("upload: %s: %v", r.RemoteAddr, err)
		}
		return
	}
}

// ordinaryEnd reports whether err is how a page's connection usually
// ends, which is no news for the log: the page closed with 1000, left with
// 1001 (a closed tab) or closed without a status (1005, which is what a
// browser's close() sends), or this server shut down. A connection cut
// without a Close, mid-upload or not, is worth a line.
func ordinaryEnd(err error) bool {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		return false
	}
	if ce.Local {
		return errors.Is(err, websocket.ErrShutdown)
	}
	switch ce.Code {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatus:
		return true
	}
	return false
}

// An endError reports a failure that was sent to the page and after which
// the connection must close: mid-upload, chunks may still be on their way
// and would be taken for the next upload's.
type endError struct{ f *failure }

func (e *endError) Error() string { return e.f.Error() }

// next waits for a "start", refuses it or runs the upload it declares.
// It returns nil when the connection may carry another upload.
func (u *uploader) next(c *websocket.Conn) error {
	ctx := context.Background()
	typ, msg, err := c.ReadMessage(ctx, nil)
	if err != nil {
		return err
	}
	if typ != websocket.MessageText {
		return u.end(c, fail(codeBadRequest, "Send a start message before the file's bytes."))
	}
	var start startMsg
	if err := json.Unmarshal(msg, &start); err != nil || start.Type != typeStart {
		return u.reply(c, fail(codeBadRequest, `Expected {"type":"start","name":…,"size":…}.`))
	}
	if bad := u.check(start); bad != nil {
		return u.reply(c, bad)
	}

	p, err := u.store.begin()
	if err != nil {
		u.log.Printf("upload: %v", err)
		return u.end(c, fail(codeServer, "The server could not store the file."))
	}
	defer p.abort()
	if err := u.reply(c, readyMsg{Type: typeReady, ChunkSize: u.chunkSize, MaxSize: u.maxSize}); err != nil {
		return err
	}
	if err := u.receive(c, p, start.Size); err != nil {
		return err
	}
	want, err := u.receiveEnd(c)
	if err != nil {
		return err
	}
	name, err := p.commit(start.Name, want)
	if err != nil {
		var f *failure
		if !errors.As(err, &f) {
			u.log.Printf("upload: %v", err)
			f = fail(codeServer, "The server could not store the file.")
		}
		return u.end(c, f)
	}
	u.log.Printf("upload: stored %q (%d bytes)", name, start.Size)
	return u.reply(c, doneMsg{Type: typeDone, Name: name, Size: start.Size, SHA256: hex.EncodeToString(want)})
}

// check validates a start message.
func (u *uploader) check(s startMsg) *failure {
	if f := checkName(s.Name); f != nil {
		return f
	}
	if s.Size < 0 {
		return fail(codeBadSize, "The size cannot be negative.")
	}
	if s.Size > u.maxSize {
		return fail(codeTooLarge, "The file is %d bytes; this server takes at most %d (%v).", s.Size, u.maxSize, byteSize(u.maxSize))
	}
	return nil
}

// receive streams binary messages into p until size bytes have arrived,
// acknowledging each. No message is held in memory whole: each is copied
// through io.Copy's buffer into the file and the hash.
func (u *uploader) receive(c *websocket.Conn, p *pending, size int64) error {
	defer c.SetReadDeadline(time.Time{})
	for p.written < size {
		c.SetReadDeadline(time.Now().Add(u.idle))
		typ, r, err := c.Reader(context.Background())
		if err != nil {
			return err
		}
		if typ != websocket.MessageBinary {
			return u.end(c, fail(codeBadRequest, "Expected the file's bytes in binary messages."))
		}
		// Read one byte past what was declared, to tell a file that is
		// larger than announced from one that is exactly its size.
		if _, err := io.Copy(p, io.LimitReader(r, size-p.written+1)); err != nil {
			if p.err == nil {
				return err // the connection failed, not the disk
			}
			u.log.Printf("upload: %v", p.err)
			return u.end(c, fail(codeServer, "The server could not store the file."))
		}
		if p.written > size {
			return u.end(c, fail(codeBadSize, "More bytes arrived than the %d declared.", size))
		}
		if err := u.reply(c, progressMsg{Type: typeProgress, Received: p.written}); err != nil {
			return err
		}
	}
	return nil
}

// receiveEnd waits for the "end" that follows the bytes and returns the
// SHA-256 it declares, which the page computed while it sent them.
func (u *uploader) receiveEnd(c *websocket.Conn) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(u.idle))
	defer c.SetReadDeadline(time.Time{})
	typ, msg, err := c.ReadMessage(context.Background(), nil)
	if err != nil {
		return nil, err
	}
	var end endMsg
	if typ != websocket.MessageText || json.Unmarshal(msg, &end) != nil || end.Type != typeEnd {
		return nil, u.end(c, fail(codeBadRequest, `Expected {"type":"end","sha256":…} after the file's bytes.`))
	}
	sum, bad := parseHash(end.SHA256)
	if bad != nil {
		return nil, u.end(c, bad)
	}
	return sum, nil
}

// reply sends v as JSON.
func (u *uploader) reply(c *websocket.Conn, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), u.writeTimeout)
	defer cancel()
	return c.WriteMessage(ctx, websocket.MessageText, data)
}

// end sends f and returns an error that makes serve close the connection.
func (u *uploader) end(c *websocket.Conn, f *failure) error {
	if err := u.reply(c, f); err != nil {
		return err
	}
	return &endError{f}
}
