package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/procfs"
)

const (
	// idleDialers is how many connections are being opened at once: enough
	// to keep the server busy, few enough to stay inside its listen backlog.
	idleDialers = 32
	// idleWarmConns connections are opened, used and closed before the
	// baseline is read, so one-time allocations (buffer pools, the first
	// goroutine stacks, lazily built tables) are not charged to the idle
	// connections.
	idleWarmConns = 64
)

// runIdle opens cfg.Conns connections, echoes one message on each, and
// reports how much the server's resident memory grew per connection while
// all of them are held open.
func runIdle(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.ServerPID == 0 {
		return nil, errors.New("loadgen: idle mode measures server memory and needs its pid")
	}
	msgs := newMessages(cfg.Size)
	d := newDialer(cfg.Addr, cfg.Path, cfg.Conns+idleWarmConns, cfg.Timeout)

	warm, err := openIdle(ctx, d, msgs, idleWarmConns)
	closeAll(warm)
	if err != nil {
		return nil, err
	}
	if err := sleep(ctx, cfg.Settle); err != nil {
		return nil, err
	}

	w := new(window)
	before, err := w.sample(cfg.ServerPID)
	if err != nil {
		return nil, err
	}
	rssBefore, err := procfs.RSSBytes(cfg.ServerPID)
	if err != nil {
		return nil, err
	}
	conns, err := openIdle(ctx, d, msgs, cfg.Conns)
	defer closeAll(conns)
	if err != nil {
		return nil, err
	}
	w.ops.Store(int64(len(conns)))
	after, err := w.sample(cfg.ServerPID)
	if err != nil {
		return nil, err
	}

	if err := sleep(ctx, cfg.Settle); err != nil {
		return nil, err
	}
	rssAfter, err := procfs.RSSBytes(cfg.ServerPID)
	if err != nil {
		return nil, err
	}
	return (&Result{
		Mode:        Idle,
		Conns:       len(conns),
		Size:        cfg.Size,
		Ops:         int64(len(conns)),
		Seconds:     after.at.Sub(before.at).Seconds(),
		ServerTicks: after.serverTicks - before.serverTicks,
		ClientTicks: after.clientTicks - before.clientTicks,
		OtherTicks:  before.otherTicks(after),
		RSSBefore:   rssBefore,
		RSSAfter:    rssAfter,
		RSSPerConn:  float64(rssAfter-rssBefore) / float64(len(conns)),
	}).finish(), nil
}

// openIdle opens n connections, checks one echo on each, and returns them
// stripped of their buffers: an idle connection costs the client only its
// socket, which is what lets one process hold a hundred thousand.
func openIdle(ctx context.Context, d *dialer, msgs *messages, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	for range min(idleDialers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				c, err := d.dial(msgs, handshakeReadBuf)
				if err != nil {
					fail(fmt.Errorf("opening idle connection %d of %d: %w", i+1, n, err))
					next.Store(int64(n)) // stop the other dialers
					return
				}
				c.nc.SetDeadline(time.Now().Add(d.timeout))
				if err := c.echo(); err != nil {
					c.drop()
					fail(err)
					next.Store(int64(n))
					return
				}
				c.nc.SetDeadline(time.Time{})
				conns[i] = c.nc
			}
		})
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return compact(conns), firstErr
}

func compact(conns []net.Conn) []net.Conn {
	out := conns[:0]
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		abort(c)
	}
}
