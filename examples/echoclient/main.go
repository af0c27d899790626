// Command echoclient is the library's client under test for an Autobahn
// fuzzingserver: the Go suite's (go run ./autobahn -fuzzingserver) or the
// official one (wstest -m fuzzingserver). It asks the server how many cases
// there are, runs each one, echoing every message it receives with its own
// type until the server closes, and then asks the server to write its
// report:
//
//	go run ./examples/echoclient -url ws://127.0.0.1:9001 -agent wirekit
//
// It uses only the library's public API: Dial, Reader, Writer, Close. It
// offers permessage-deflate, so the compression cases (sections 12 and 13)
// run compressed, and it streams each message from the Reader into a
// Writer, so a 16 MiB message needs no 16 MiB of memory. It prints its
// progress (-v: a line per case, with how the connection ended) and exits
// 0 when it has completed the run; the verdicts are the server's business.
package main

import (
	"compress/flate"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wirekit/websocket"
)

func main() {
	base := flag.String("url", "ws://127.0.0.1:9001", "the fuzzingserver's ws:// URL")
	agent := flag.String("agent", "wirekit", "this client's name in the server's report")
	verbose := flag.Bool("v", false, "print a line per case")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "echoclient: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, strings.TrimSuffix(*base, "/"), *agent, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "echoclient:", err)
		os.Exit(1)
	}
}

// run is the whole exchange with the fuzzingserver at base.
func run(ctx context.Context, base, agent string, verbose bool) error {
	count, err := caseCount(ctx, base)
	if err != nil {
		return fmt.Errorf("getCaseCount: %w", err)
	}
	fmt.Printf("echoclient: %d cases at %s, as %s\n", count, base, agent)
	step := max(count/10, 1) // progress every tenth of the run
	for n := 1; n <= count; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		end, err := runCase(ctx, fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, n, url.QueryEscape(agent)))
		switch {
		case err != nil:
			// The server records the case as it sees it; go on with the next.
			fmt.Fprintf(os.Stderr, "echoclient: case %d/%d: %v\n", n, count, err)
		case verbose:
			fmt.Printf("echoclient: case %d/%d: %v\n", n, count, end)
		case n%step == 0 || n == count:
			fmt.Printf("echoclient: %d/%d cases run\n", n, count)
		}
	}
	if err := readUntilClosed(ctx, base+"/updateReports?agent="+url.QueryEscape(agent), nil); err != nil {
		return fmt.Errorf("updateReports: %w", err)
	}
	fmt.Printf("echoclient: done; the server has written its report for %s\n", agent)
	return nil
}

// caseCount asks the server how many cases it has: one text message with
// the number.
func caseCount(ctx context.Context, base string) (int, error) {
	var text string
	err := readUntilClosed(ctx, base+"/getCaseCount", func(typ websocket.MessageType, msg []byte) {
		if typ == websocket.MessageText && text == "" {
			text = string(msg)
		}
	})
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("the server sent %q, not a case count", text)
	}
	return n, nil
}

// readUntilClosed opens a connection to u, hands every message to each (if
// not nil) and returns once the server has closed the connection.
func readUntilClosed(ctx context.Context, u string, each func(websocket.MessageType, []byte)) error {
	c, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(ctx, buf[:0])
		if err != nil {
			if closedByServer(err) {
				awaitEnd(c)
				return nil
			}
			return err
		}
		buf = msg
		if each != nil {
			each(typ, msg)
		}
	}
}

// runCase runs one case: it echoes every message until the connection
// ends, and returns the error that ended it, which says how. Only a
// connection that could not be opened is an error.
func runCase(ctx context.Context, u string) (end error, err error) {
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		// The compression cases need an offer; the others decline it.
		// The server keeps its context, so the inflater carries history
		// from message to message; the client's compressor starts afresh
		// with each one, which the offer says (client_no_context_takeover),
		// so the cases that ask for that (13.2, 13.7) run too. Every
		// message is compressed, however small. The offer has no
		// client_max_window_bits: compress/flate cannot compress within a
		// window under 32 KiB, so Autobahn's 13.3-13.6, which ask for it,
		// are UNIMPLEMENTED.
		Compression: &websocket.CompressionOptions{
			Level:               flate.BestSpeed,
			Threshold:           -1,
			PeerContextTakeover: true,
		},
	})
	if err != nil {
		return nil, err
	}
	defer c.CloseNow()
	end = echo(ctx, c)
	awaitEnd(c)
	return end, nil
}

// echo sends every message back with its own type, streamed, until the
// connection ends, and returns the error that ended it.
func echo(ctx context.Context, c *websocket.Conn) error {
	for {
		typ, r, err := c.Reader(ctx)
		if err != nil {
			return err
		}
		w, err := c.Writer(ctx, typ)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, r)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// closedByServer reports whether err is the server's closing handshake.
func closedByServer(err error) bool {
	var ce *websocket.CloseError
	return errors.As(err, &ce) && !ce.Local
}

// awaitEnd lets the library finish the end of a connection on its own: the
// closing handshake, or the lingering close after it failed the connection,
// which waits for the server to close TCP first. Closing at once could cut
// that short. The library bounds it by its close timeout; the wait here is
// a generous outer bound.
func awaitEnd(c *websocket.Conn) {
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-c.Done():
	case <-t.C:
	}
}
