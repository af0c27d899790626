package websocket

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ReadJSON reads the next message and decodes it, as JSON, into v. A
// json.Decoder reads it from the message's reader, so no copy of it is
// made beforehand, though the decoder gathers the value in a buffer of its
// own as it goes (the read limit bounds it). A message that is not one
// JSON value, white space around it aside, is an error; the connection
// goes on, and the next read starts at the next message.
func (c *Conn) ReadJSON(ctx context.Context, v any) error {
	_, r, err := c.Reader(ctx)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("websocket: reading JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("more than one value in the message")
		}
		return fmt.Errorf("websocket: reading JSON: %w", err)
	}
	return nil
}

// WriteJSON writes v, encoded by encoding/json, as one text message. The
// encoding is made in a pooled buffer and written as WriteMessage writes,
// so a value that cannot be encoded sends nothing.
func (c *Conn) WriteJSON(ctx context.Context, v any) error {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 { // do not keep the odd huge one
			buf.Reset()
			jsonBuffers.Put(buf)
		}
	}()
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		return fmt.Errorf("websocket: writing JSON: %w", err)
	}
	b := buf.Bytes()
	return c.WriteMessage(ctx, MessageText, b[:len(b)-1]) // without Encode's newline
}

var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
