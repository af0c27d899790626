// Command live serves a live poll: a page with a button per option and a
// bar per option that moves for everyone as votes arrive, and notices that
// an operator posts to every open page.
//
//	go run ./examples/live                                  # http://localhost:8080
//	go run ./examples/live -addr 127.0.0.1:9000 -options 'yes,no,maybe'
//	LIVE_ADMIN_TOKEN=secret go run ./examples/live          # guard /notify
//	curl --data 'Voting closes at noon' http://localhost:8080/notify
//
// The wire protocol is described in protocol.go, the design in README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"

	"github.com/wirekit/websocket/examples/internal/webapp"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	options := flag.String("options", defaultOptions, "the poll's options, separated by commas")
	// The token's default is not the environment variable itself: flag
	// would print it in -help.
	token := flag.String("admin-token", "", "token that POST /notify must send as \"Authorization: Bearer <token>\"; empty: $LIVE_ADMIN_TOKEN, and if that is empty too, anyone who can reach the server may post")
	maxConns := flag.Int("max-conns", 10000, "most WebSocket connections at once (0: no cap)")
	flag.Parse()

	opts, err := parseOptions(*options)
	if err != nil {
		fmt.Fprintf(os.Stderr, "live: -options: %v\n", err)
		os.Exit(2)
	}
	if *token == "" {
		// The environment keeps the token out of ps, which shows a
		// process's arguments to every user of the machine.
		*token = os.Getenv("LIVE_ADMIN_TOKEN")
	}

	ctx, stop := webapp.SignalContext()
	defer stop()
	logger := log.New(os.Stderr, "", log.LstdFlags)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logger.Fatal(err)
	}
	// The address as bound: with port 0, the one the kernel chose. Test
	// harnesses read it from this line.
	logger.Printf("live: listening on http://%s", ln.Addr())
	if *token == "" {
		logger.Printf("live: POST /notify is open to anyone who can reach this address (set -admin-token or LIVE_ADMIN_TOKEN to guard it)")
	} else {
		logger.Printf("live: POST /notify needs the admin token")
	}
	a := newApp(config{options: opts, adminToken: *token, maxConns: *maxConns, log: logger})
	if err := run(ctx, ln, a); err != nil {
		logger.Fatal(err)
	}
}

// run serves on ln until ctx ends, then shuts down gracefully: the
// listener closes, requests in progress finish, and every WebSocket is
// closed with 1001 Going Away, which tells the pages to reconnect rather
// than report an error.
func run(ctx context.Context, ln net.Listener, a *app) error {
	// http.Server.Shutdown does not see hijacked connections: the
	// WebSocket server closes those itself.
	err := webapp.Serve(ctx, ln, a.handler, a.log, "live", a.ws.Shutdown)
	st := a.bc.Stats()
	a.log.Printf("live: %d messages delivered in %d writes; %d tallies superseded before they were sent; %d pages dropped as too slow",
		st.Delivered, st.Writes, st.Replaced, st.Dropped)
	return err
}
