// Command minimal is a hand-written RFC 6455 echo server that does the
// least work an echo can cost: it is the "speed of light" reference the
// libraries are compared against, not a library and not a peer.
//
// Per frame it reads the header, reads the payload straight into the reply
// buffer behind room for the reply's header, unmasks it in place, and
// writes header and payload with one write, batching the replies to all
// frames that arrived together. It trusts its clients more than a real
// server may: no timeouts, no UTF-8 validation of text, and a protocol
// violation simply drops the connection.
package main

import (
	"errors"
	"flag"
	"log"
	"net"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen `host:port`")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Typically out of file descriptors: wait for some to be
			// released rather than spin.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go serve(nc)
	}
}
