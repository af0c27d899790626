package websocket

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// Ping sends a ping and waits for the peer's pong to it, or for ctx to end.
// It measures that the peer is alive and answering, end to end; time it to
// get the round trip. The pong is read by the connection's read loop, so a
// goroutine must be reading for Ping to return nil.
//
// For a connection that should close itself when its peer stops answering,
// set Options.PingInterval instead of calling Ping in a loop.
func (c *Conn) Ping(ctx context.Context) error {
	ch := make(chan error, 1)
	c.pingMu.Lock()
	c.pingSeq++
	id := c.pingSeq
	if c.pingWait == nil {
		c.pingWait = make(map[uint64]chan error)
	}
	c.pingWait[id] = ch
	c.pingMu.Unlock()

	var p [8]byte
	binary.BigEndian.PutUint64(p[:], id)
	err := c.writeControl(opPing, p[:])
	if err == nil {
		select {
		case err = <-ch:
		case <-ctx.Done():
			err = fmt.Errorf("websocket: waiting for pong: %w", context.Cause(ctx))
		}
	}
	c.pingMu.Lock()
	delete(c.pingWait, id)
	c.pingMu.Unlock()
	return err
}

// pongReceived wakes the Ping waiting for this pong. Pongs that answer no
// ping of ours (unsolicited ones are allowed) change nothing.
func (c *Conn) pongReceived(p []byte) {
	if len(p) != 8 {
		return
	}
	id := binary.BigEndian.Uint64(p)
	c.pingMu.Lock()
	if ch, ok := c.pingWait[id]; ok {
		ch <- nil
		delete(c.pingWait, id)
	}
	c.pingMu.Unlock()
}

// keepalive pings a peer that has gone quiet and drops it if it stays quiet.
// It is a timer, not a goroutine: an idle connection with keepalive costs a
// timer.
type keepalive struct {
	c        *Conn
	interval time.Duration
	timeout  time.Duration

	mu       sync.Mutex
	timer    *time.Timer
	seen     uint64 // c.frames when last looked at
	pinged   bool   // a ping is out and nothing has arrived since
	finished bool
}

func (c *Conn) startKeepalive(interval, timeout time.Duration) {
	if timeout <= 0 {
		timeout = interval
	}
	k := &keepalive{c: c, interval: interval, timeout: timeout}
	k.mu.Lock()
	k.timer = time.AfterFunc(interval, k.tick)
	k.mu.Unlock()
	c.keepalive = k
}

// tick runs when the timer fires. Any frame from the peer since the last
// tick shows it is alive; otherwise it gets a ping, and if a whole timeout
// passes with nothing at all, the connection is dropped: a peer that does
// not answer cannot take part in a closing handshake either.
func (k *keepalive) tick() {
	k.mu.Lock()
	if k.finished {
		k.mu.Unlock()
		return
	}
	if n := k.c.frames.Load(); n != k.seen {
		k.seen, k.pinged = n, false
		k.timer.Reset(k.interval)
		k.mu.Unlock()
		return
	}
	if k.pinged {
		k.mu.Unlock()
		k.c.shutdown(ErrKeepalive)
		return
	}
	k.pinged = true
	k.timer.Reset(k.timeout)
	k.mu.Unlock()

	// Skip the ping if a write holds the connection: if that write is stuck
	// on a dead peer, the next tick drops the connection and frees it.
	c := k.c
	if c.wmu.TryLock() {
		putServerHeader(c.ctrlOut[:2], true, 0, opPing, 0)
		c.emitOpen(c.ctrlOut[:2], nil)
		c.wmu.Unlock()
	}
}

func (k *keepalive) stop() {
	k.mu.Lock()
	k.finished = true
	k.timer.Stop()
	k.mu.Unlock()
}
