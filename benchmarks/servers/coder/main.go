// Command coder is an echo server built on github.com/coder/websocket,
// following the library's echo example: Accept, then for each message
// stream the Reader into a Writer of the same type.
package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// maxMessage raises the library's 32 KiB default read limit: the largest
// benchmark message is 1 MiB.
const maxMessage = 4 << 20

func serve(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has already answered with an HTTP error.
	}
	defer c.CloseNow()
	c.SetReadLimit(maxMessage)
	for {
		if err := echo(c); err != nil {
			return // The peer closed, or broke the protocol.
		}
	}
}

// echo copies one message back to the client. As in the library's
// example, writing a message gets a deadline of its own. Unlike the
// example, waiting for the next message has none, so that connections
// held idle by the benchmark are not closed by the server.
func echo(c *websocket.Conn) error {
	typ, r, err := c.Reader(context.Background())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := c.Writer(ctx, typ)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		return errors.Join(err, w.Close())
	}
	return w.Close()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen `host:port`")
	flag.Parse()
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(serve)))
}
