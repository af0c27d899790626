package main

import (
	"net"
	"sync"
)

// writer sends queued octets on its own goroutine so the session's event
// loop never blocks on a server that stops reading: the loop keeps serving
// timers and incoming frames, and closing the connection unblocks a stuck
// write.
type writer struct {
	conn  net.Conn
	mu    sync.Mutex
	queue []chunk
	wake  chan struct{}
	done  chan struct{}
	// flush: on done, write what is still queued before exiting.
	flush  bool
	exited chan struct{}
}

// chunk is one queued frame (or raw frame fragment).
type chunk struct {
	data []byte
	// chop > 0 writes data in pieces of chop octets, one write each, as
	// Autobahn's chopsize does to exercise servers that must reassemble
	// frames from arbitrary TCP segments.
	chop int
	// sync asks for a write of its own. Unsynced chunks that follow each
	// other are coalesced into one write, as Twisted would buffer them.
	sync bool
}

func newWriter(conn net.Conn) *writer {
	w := &writer{conn: conn, wake: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{})}
	go w.run()
	return w
}

func (w *writer) enqueue(c chunk) {
	w.mu.Lock()
	w.queue = append(w.queue, c)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// stop ends the goroutine; queued octets are dropped.
func (w *writer) stop() { close(w.done) }

// finish ends the goroutine after it has written what is queued, and waits
// for that; the caller bounds it with a write deadline.
func (w *writer) finish() {
	w.mu.Lock()
	w.flush = true
	w.mu.Unlock()
	close(w.done)
	<-w.exited
}

func (w *writer) run() {
	defer close(w.exited)
	broken := false
	for {
		w.mu.Lock()
		q := w.queue
		w.queue = nil
		w.mu.Unlock()
		if !broken {
			broken = w.write(q) != nil
		}
		select {
		case <-w.wake:
		case <-w.done:
			w.mu.Lock()
			q, flush := w.queue, w.flush
			w.queue = nil
			w.mu.Unlock()
			if flush && !broken {
				w.write(q)
			}
			return
		}
	}
}

// write writes the chunks in order. After a write error the connection is
// gone; the session learns that from its reader, so the error only stops
// further writes.
func (w *writer) write(q []chunk) error {
	var pending []byte
	for _, c := range q {
		if c.chop <= 0 && !c.sync {
			pending = append(pending, c.data...)
			continue
		}
		if len(pending) > 0 {
			if _, err := w.conn.Write(pending); err != nil {
				return err
			}
			pending = nil
		}
		step := len(c.data)
		if c.chop > 0 {
			step = c.chop
		}
		for i := 0; i < len(c.data); i += step {
			end := min(i+step, len(c.data))
			if _, err := w.conn.Write(c.data[i:end]); err != nil {
				return err
			}
		}
	}
	if len(pending) > 0 {
		_, err := w.conn.Write(pending)
		return err
	}
	return nil
}
