package websocket

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Ping sends a ping and waits for the peer's pong to it, for ctx to end, or
// for the connection to end, whichever comes first. It measures that the
// peer is alive and answering, end to end; time it to get the round trip.
// The pong is read by the connection's read loop, so a goroutine must be
// reading for Ping to return nil.
//
// Keepalive (Options.PingInterval) already pings quiet peers and drops
// those that stop answering; Ping is for a program that wants the round
// trip itself.
func (c *Conn) Ping(ctx context.Context) error {
	id, ch := c.pings.add()
	defer c.pings.remove(id)
	var p [8]byte
	binary.BigEndian.PutUint64(p[:], id)
	if err := c.lockOut(ctx); err != nil {
		return err
	}
	err := c.writeControlLocked(opPing, p[:])
	c.unlockOut()
	if err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("websocket: waiting for pong: %w", context.Cause(ctx))
	case <-c.Done():
		return c.writeErr()
	}
}

// pingWaiters are the Pings waiting for their pongs, by payload.
type pingWaiters struct {
	mu   sync.Mutex
	seq  uint64
	wait map[uint64]chan struct{}
}

func (w *pingWaiters) add() (uint64, chan struct{}) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	if w.wait == nil {
		w.wait = make(map[uint64]chan struct{})
	}
	w.wait[w.seq] = ch
	return w.seq, ch
}

func (w *pingWaiters) remove(id uint64) {
	w.mu.Lock()
	delete(w.wait, id)
	w.mu.Unlock()
}

// pongReceived wakes the Ping waiting for this pong. Pongs that answer no
// ping of ours (unsolicited ones are allowed) change nothing.
func (c *Conn) pongReceived(p []byte) {
	if len(p) != 8 {
		return
	}
	id := binary.BigEndian.Uint64(p)
	c.pings.mu.Lock()
	if ch, ok := c.pings.wait[id]; ok {
		ch <- struct{}{}
		delete(c.pings.wait, id)
	}
	c.pings.mu.Unlock()
}

// keepalive pings a peer that has gone quiet and drops it if it stays
// quiet. It is a timer, not a goroutine: an idle connection with keepalive
// costs a timer.
//
// "Quiet" means nothing arrived from the peer at all, whether or not the
// application has read it: the evidence is the bytes the reader took from
// the transport plus those waiting in the socket's receive queue (see
// arrived), so a handler busy for a while with its own work does not get
// a live peer dropped. The timeout runs from the moment the ping reaches
// the peer:
//
//   - When the tick finds a write holding the output, the ping falls due
//     and that writer sends it as soon as its frame is out
//     (Conn.unlockOut). A write that holds the output for a whole timeout
//     is given more time while it makes progress (the socket takes its
//     bytes, which it does only as the peer acknowledges them); one that
//     is stuck while the peer sends nothing means a peer that is gone.
//   - A ping queued behind megabytes the peer is still reading cannot be
//     answered before the peer gets to it: while the socket's send queue
//     still holds bytes from before the ping and the peer keeps
//     acknowledging them, the wait goes on (see ackState).
//
// Acknowledgements alone never keep a connection: a peer whose kernel
// acknowledges but whose application reads nothing stops acknowledging
// once its receive window is full, and is then dropped.
type keepalive struct {
	c        *Conn
	interval time.Duration
	timeout  time.Duration
	sock     *socketProbe // the socket under the transport, or nil; asked under mu
	due      atomic.Bool  // a ping waits for the output; see Conn.unlockOut

	mu       sync.Mutex
	timer    *time.Timer
	phase    keepalivePhase
	seen     uint64    // arrived() when last looked at
	progress [2]uint64 // c.out.sent and the send queue when last looked at, in phase pingDue
	acked    uint64    // ackState() when last looked at, in phase pinged
	backlog  uint64    // ackState() at which the ping will have reached the peer
	finished bool
}

type keepalivePhase uint8

const (
	watching keepalivePhase = iota // waiting to see if the peer stays quiet for an interval
	pingDue                        // a ping waits for the output to be free
	pinged                         // a ping went out; waiting for anything from the peer
)

func (c *Conn) startKeepalive(interval, timeout time.Duration) {
	k := &keepalive{c: c, interval: interval, timeout: timeout}
	if raw := socketOf(c.rwc); raw != nil {
		k.sock = newSocketProbe(raw)
	}
	c.keepalive = k // before the timer can fire and look for it
	k.mu.Lock()
	k.seen = k.arrived()
	k.timer = time.AfterFunc(interval, k.tick)
	k.mu.Unlock()
}

// socketOf finds the socket under a transport, through TLS, wrappers that
// expose their connection, and wrappers that embed one (as
// netutil.LimitListener's connections do), for a look at its queues. It
// only looks: reads and writes go through the transport's own methods.
func socketOf(t any) syscall.RawConn {
	for range 8 {
		switch v := t.(type) {
		case *tls.Conn:
			t = v.NetConn()
		case syscall.Conn:
			raw, err := v.SyscallConn()
			if err != nil {
				return nil
			}
			return raw
		case interface{ NetConn() net.Conn }:
			t = v.NetConn()
		default:
			if t = embeddedConn(t); t == nil {
				return nil
			}
		}
	}
	return nil
}

// embeddedConn returns the net.Conn a struct (or pointer to one) embeds,
// or nil.
func embeddedConn(t any) any {
	v := reflect.ValueOf(t)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.Anonymous || !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if (fv.Kind() == reflect.Interface || fv.Kind() == reflect.Pointer) && !fv.IsNil() {
			if nc, ok := fv.Interface().(net.Conn); ok {
				return nc
			}
		}
	}
	return nil
}

// look asks the kernel about the socket under the transport, if there is
// one. The caller holds k.mu, as it does for arrived, ackState and
// writeProgress, which look.
func (k *keepalive) look() socketState {
	if k.sock == nil {
		return socketState{}
	}
	return k.sock.query()
}

// arrived returns a count that grows whenever bytes arrive from the peer,
// read by the application or not: the kernel's count of bytes received
// where it keeps one, and otherwise the bytes the reader took from the
// transport plus those waiting in the socket's receive queue. (Under TLS
// the latter two are counted in different units, so the count may also
// move when the application reads; that only ever keeps a connection,
// never drops one.)
func (k *keepalive) arrived() uint64 {
	s := k.look()
	if s.counted {
		return s.received
	}
	return k.c.in.received.Load() + uint64(s.inq)
}

// ackState returns a count of this side's bytes the peer has acknowledged
// (the kernel's count where it keeps one, otherwise those handed to the
// socket less those still in its send queue), and the bytes still in the
// send queue.
func (k *keepalive) ackState() (acked, queued uint64) {
	s := k.look()
	if s.counted {
		return s.acked, uint64(s.outq)
	}
	return k.c.out.sent.Load() - uint64(s.outq), uint64(s.outq)
}

// writeProgress returns what moves while a write makes progress: the bytes
// handed to the transport (over HTTP/2, also those net/http has taken of
// a write in progress), and the bytes the peer has acknowledged, which
// move as it reads.
func (k *keepalive) writeProgress() [2]uint64 {
	acked, _ := k.ackState()
	sent := k.c.out.sent.Load()
	if s, ok := k.c.rwc.(*stream); ok {
		sent += s.sent.Load()
	}
	return [2]uint64{sent, acked}
}

// tick runs when the timer fires.
func (k *keepalive) tick() {
	k.mu.Lock()
	if k.finished {
		k.mu.Unlock()
		return
	}
	if k.c.state() != stateOpen {
		// A closing handshake is under way: the close timeout bounds it,
		// and a ping could not go out after this side's Close anyway.
		k.mu.Unlock()
		return
	}
	if now := k.arrived(); now != k.seen {
		// The peer is alive: watch for another interval.
		k.seen, k.phase = now, watching
		k.due.Store(false)
		k.timer.Reset(k.interval)
		k.mu.Unlock()
		return
	}
	switch k.phase {
	case watching:
		// Quiet for a whole interval: ping.
		k.phase = pingDue
		k.progress = k.writeProgress()
		k.timer.Reset(k.timeout)
		k.mu.Unlock()
		k.requestPing()
		return
	case pingDue:
		// The output has been busy for a whole timeout.
		if p := k.writeProgress(); p != k.progress {
			k.progress = p // a long write, moving: give it more time
			k.timer.Reset(k.timeout)
			k.mu.Unlock()
			k.requestPing()
			return
		}
	case pinged:
		if acked, _ := k.ackState(); acked < k.backlog && acked != k.acked {
			// The ping is still behind bytes the peer is reading.
			k.acked = acked
			k.timer.Reset(k.timeout)
			k.mu.Unlock()
			return
		}
	}
	// No answer to the ping, or a write stuck on a silent peer.
	k.mu.Unlock()
	k.c.shutdown(ErrKeepalive)
}

// requestPing marks a ping due and sends it now if the output is free;
// otherwise the writer holding the output sends it when it lets go.
func (k *keepalive) requestPing() {
	k.due.Store(true)
	if k.c.out.mu.TryLock() {
		k.c.unlockOut()
	}
}

// sendDue writes the ping that fell due, if one did. The caller holds
// c.out.mu.
func (k *keepalive) sendDue() {
	if !k.due.CompareAndSwap(true, false) {
		return
	}
	c := k.c
	if !c.canWrite() || c.out.closeWritten {
		return // closing: the close timeout bounds what is left
	}
	b := c.controlFrame(opPing, nil)
	// What has arrived is counted before the ping goes out: the answer
	// may be back before this goroutine looks again.
	k.mu.Lock()
	before := k.arrived()
	k.mu.Unlock()
	// Not held back for coalescing: the timeout starts now.
	if err := c.out.emit(b, nil, false); err != nil {
		c.wrote(err)
		return
	}
	k.mu.Lock()
	acked, queued := k.ackState()
	if !k.finished && k.phase == pingDue {
		k.phase = pinged
		k.seen = before
		k.acked, k.backlog = acked, acked+queued
		k.timer.Reset(k.timeout)
	}
	k.mu.Unlock()
}

func (k *keepalive) stop() {
	k.mu.Lock()
	k.finished = true
	k.timer.Stop()
	k.mu.Unlock()
}
