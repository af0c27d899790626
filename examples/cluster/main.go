// Command cluster is one node of a chat that runs as several instances
// behind a load balancer, with Redis between them. Each room's messages
// live in a Redis stream; every node with members in a room reads that
// stream and fans its entries out to its own members through a
// websocket.Broadcaster. A client that reconnects, to any node, names the
// last message it saw and is sent everything after it.
//
//	redis-server --appendonly yes &
//	go run . -addr 127.0.0.1:9001 -node n1 &
//	go run . -addr 127.0.0.1:9002 -node n2 &
//	nginx -c "$PWD/nginx/chat.conf"   # see README.md
//
// The protocol is described in protocol.go, the design in README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// config is what the flags set.
type config struct {
	addr, redisAddr, id string
	maxLen              int64
	dedup               time.Duration
	maxConns            int
	drain               time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:9001", "address to listen on")
	flag.StringVar(&cfg.redisAddr, "redis", "127.0.0.1:6379", "Redis address")
	flag.StringVar(&cfg.id, "node", "", "this node's name, for logs and clients (default: the listen address)")
	flag.Int64Var(&cfg.maxLen, "maxlen", 10000, "messages kept per room (approximately: MAXLEN ~)")
	flag.DurationVar(&cfg.dedup, "dedup", 10*time.Minute, "how long a message's ref is remembered, to store a resent message once")
	flag.IntVar(&cfg.maxConns, "max-conns", 0, "WebSocket connections this node accepts at once (0: no cap)")
	flag.DurationVar(&cfg.drain, "drain", 10*time.Second, "on SIGTERM, how long clients get to take their close (1001) before their connections are cut")
	flag.Parse()
	if err := cfg.check(); err != nil {
		fmt.Fprintln(flag.CommandLine.Output(), err)
		flag.Usage()
		os.Exit(2)
	}
	if cfg.id == "" {
		cfg.id = cfg.addr
	}

	logger := log.New(os.Stderr, cfg.id+" ", log.LstdFlags|log.Lmicroseconds)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil {
		logger.Fatal(err)
	}
}

// check refuses values that would break what README.md promises rather
// than serve with them: -maxlen 0 is not "no cap" but MAXLEN ~ 0, which
// trims every message as it is added, so none is delivered or kept; a
// -dedup of 0 would store a resent message twice.
func (c config) check() error {
	switch {
	case c.maxLen < 1:
		return fmt.Errorf("-maxlen %d: a room must keep at least 1 message", c.maxLen)
	case c.dedup <= 0:
		return fmt.Errorf("-dedup %v: refs must be remembered for some time, or resent messages are stored twice", c.dedup)
	case c.drain < 0:
		return fmt.Errorf("-drain %v: must not be negative", c.drain)
	case c.maxConns < 0:
		return fmt.Errorf("-max-conns %d: must not be negative (0: no cap)", c.maxConns)
	}
	return nil
}

func run(ctx context.Context, cfg config, logger *log.Logger) error {
	addr, redisAddr, id := cfg.addr, cfg.redisAddr, cfg.id
	rdb := redis.NewClient(&redis.Options{
		Addr: redisAddr,
		// Deadlines from contexts bound each command: a join or a send
		// gives up when its own timeout says so.
		ContextTimeoutEnabled: true,
		// Our own loops retry, with their own backoff and bounds; the
		// client's retries would only stack under them.
		MaxRetries: -1,
	})
	defer rdb.Close()

	h := newHub(&store{rdb: rdb, maxLen: cfg.maxLen, dedupTTL: cfg.dedup}, id, logger)
	n := newNode(id, h, logger)
	n.ws.MaxConns = cfg.maxConns
	// A close, 1001 at a graceful stop above all, may wait behind what a
	// slow client has not read yet: give it as long as the drain.
	n.ws.Options.CloseTimeout = cfg.drain

	srv := &http.Server{
		Handler:           n.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          logger,
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	logger.Printf("serving on %s, redis at %s", ln.Addr(), redisAddr)

	readerCtx, stopReader := context.WithCancel(context.Background())
	var reader sync.WaitGroup
	reader.Go(func() { h.run(readerCtx) })

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		stopReader()
		return err
	case <-ctx.Done():
	}

	// A graceful stop, for rolling restarts: the listener closes (the
	// proxy sends new connections elsewhere), every client gets 1001 and
	// reconnects through the proxy to another node with its last ID.
	logger.Printf("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), cfg.drain)
	defer cancel()
	var wg sync.WaitGroup
	var httpErr, wsErr error
	wg.Go(func() { httpErr = srv.Shutdown(shutdown) })
	wg.Go(func() { wsErr = n.ws.Shutdown(shutdown) })
	wg.Wait()
	stopReader()
	rdb.Close() // ends the reader's blocked XREAD
	reader.Wait()
	err = errors.Join(httpErr, wsErr)
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}
