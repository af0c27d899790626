// Package fanouttest serves fan-out (see internal/fanout) in the test's own
// process, faithfully or with a fault, to prove that the load generator
// counts every kind of wrong delivery.
package fanouttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/wirekit/websocket/benchmarks/internal/fanout"
)

// Fault decides what subscriber sub (numbered from 0 in the order they
// subscribed) is sent in place of message n (counted from 0 over the
// whole run, warm-up included). held is what an earlier call kept back.
// It returns the payloads to send now, those to hold back, and whether to
// close the connection (with 1013) instead.
type Fault func(sub, n int, msg []byte, held [][]byte) (send, hold [][]byte, close bool)

// FaultySub is the subscriber every fault in Faults hits, and FaultyMsg
// the message: late enough to fall in the first rate step of a test run,
// after the warm-up.
const (
	FaultySub = 3
	FaultyMsg = 40
)

func only(f func(msg []byte, held [][]byte) ([][]byte, [][]byte, bool)) Fault {
	return func(sub, n int, msg []byte, held [][]byte) ([][]byte, [][]byte, bool) {
		if sub != FaultySub || (n != FaultyMsg && n != FaultyMsg+1) {
			return append(held, msg), nil, false
		}
		if n == FaultyMsg+1 {
			return append([][]byte{msg}, held...), nil, false
		}
		return f(msg, held)
	}
}

// Faults are the wrong deliveries the load generator must count.
var Faults = map[string]Fault{
	// One message never arrives.
	"skipped": only(func(msg []byte, _ [][]byte) ([][]byte, [][]byte, bool) { return nil, nil, false }),
	// A message arrives after the next one.
	"swapped": only(func(msg []byte, _ [][]byte) ([][]byte, [][]byte, bool) { return nil, [][]byte{msg}, false }),
	// A message arrives twice.
	"repeated": only(func(msg []byte, _ [][]byte) ([][]byte, [][]byte, bool) { return [][]byte{msg, msg}, nil, false }),
	// The subscriber is closed as too slow.
	"closed": only(func(msg []byte, _ [][]byte) ([][]byte, [][]byte, bool) { return nil, nil, true }),
	// One byte of the body is wrong.
	"corrupted": only(func(msg []byte, _ [][]byte) ([][]byte, [][]byte, bool) {
		bad := append([]byte(nil), msg...)
		bad[len(bad)-1] ^= 1
		return [][]byte{bad}, nil, false
	}),
}

type subscriber struct {
	conn *websocket.Conn
	out  chan []byte // closed: close the connection with 1013
	held [][]byte
}

// Serve starts a fan-out server on loopback with fault (nil: faithful) and
// returns its address. It is closed when the test ends.
func Serve(tb testing.TB, fault Fault) string { return serve(tb, fault, 0) }

// ServeClosingPublisher starts a faithful fan-out server that closes the
// publisher's connection after message FaultyMsg (counted from 0).
func ServeClosingPublisher(tb testing.TB) string { return serve(tb, nil, FaultyMsg+1) }

func serve(tb testing.TB, fault Fault, closePublisherAfter int) string {
	var (
		mu   sync.Mutex
		subs []*subscriber
		n    int
	)
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc(fanout.SubscribePath, func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s := &subscriber{conn: c, out: make(chan []byte, 1<<16)}
		mu.Lock()
		subs = append(subs, s)
		mu.Unlock()
		out := s.out
		go func() { // the connection's only writer
			for p := range out {
				if c.WriteMessage(websocket.BinaryMessage, p) != nil {
					break
				}
			}
			c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "fault"))
			c.Close()
		}()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	mux.HandleFunc(fanout.PublishPath, func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			_, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			mu.Lock()
			for i, s := range subs {
				if s.out == nil {
					continue
				}
				send, hold, shut := [][]byte{p}, [][]byte(nil), false
				if fault != nil {
					send, hold, shut = fault(i, n, p, s.held)
				}
				s.held = hold
				if shut { // the writer sends 1013 and closes
					close(s.out)
					s.out = nil
					continue
				}
				for _, q := range send {
					s.out <- q
				}
			}
			n++
			mu.Unlock()
			if n == closePublisherAfter {
				return
			}
		}
	})
	mux.HandleFunc(fanout.StatsPath, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		members := 0
		for _, s := range subs {
			if s.out != nil {
				members++
			}
		}
		mu.Unlock()
		json.NewEncoder(w).Encode(fanout.Stats{Members: members})
	})
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}
