// Command gobwas is the fan-out server built on github.com/gobwas/ws. The
// library's facility for sending one message to many is ws.CompileFrame,
// which its documentation recommends for frames sent often: each message
// from the publisher is compiled into its wire bytes once, and those bytes
// are written to every subscriber's connection in turn, from the
// publisher's goroutine.
//
// gobwas leaves concurrent writes to the caller. Here two goroutines write
// to a subscriber's connection: the publisher's, with whole data frames,
// and the subscriber's reader, whose wsutil.ReadClientData answers pings
// and the closing handshake. A net.Conn serialises whole Write calls, and
// each call carries a whole frame, so frames never interleave.
//
// There is no queue and no write deadline: a subscriber that stops reading
// stalls the loop, and with it the publisher, once its socket buffers fill.
// That is the cost of the plain approach; it also means nobody is dropped.
package main

import (
	"net"
	"net/http"
	"sync"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/wirekit/websocket/benchmarks/internal/fanout"
)

// subscribers is the set of subscribed connections.
type subscribers struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (s *subscribers) add(c net.Conn) {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
}

func (s *subscribers) remove(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *subscribers) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// send writes one compiled frame to every subscriber. A failed write
// is left to the subscriber's reader, which ends and removes it.
func (s *subscribers) send(frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Write(frame)
	}
}

func main() {
	subs := &subscribers{conns: make(map[net.Conn]struct{})}
	wsutil.SetMaxMessageSize(fanout.MaxMessage)
	mux := http.NewServeMux()
	mux.HandleFunc(fanout.SubscribePath, func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return // UpgradeHTTP has already answered with an HTTP error.
		}
		subs.add(conn)
		go func() {
			defer func() {
				subs.remove(conn)
				conn.Close()
			}()
			for {
				if _, _, err := wsutil.ReadClientData(conn); err != nil {
					return
				}
			}
		}()
	})
	mux.HandleFunc(fanout.PublishPath, func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			for {
				msg, op, err := wsutil.ReadClientData(conn)
				if err != nil {
					return
				}
				subs.send(ws.MustCompileFrame(ws.NewFrame(op, true, msg)))
			}
		}()
	})
	fanout.Serve(mux, subs.len)
}
