package loadgen

import (
	"context"
	"time"
)

// streamReadBuf sizes each connection's read buffer in the long-lived
// modes. Payloads larger than this are read straight into the message
// buffer, so it need only hold many small echoes at once.
const streamReadBuf = 64 << 10

// runStream opens cfg.Conns connections and measures work running on each.
func runStream(ctx context.Context, cfg Config, work func(i int, c *conn, w *window) error) (*Result, error) {
	msgs := newMessages(cfg.Size)
	d := newDialer(cfg.Addr, cfg.Path, cfg.Conns, cfg.Timeout)
	conns := make([]*conn, 0, cfg.Conns)
	defer func() {
		for _, c := range conns {
			c.drop()
		}
	}()
	for range cfg.Conns {
		c, err := d.dial(msgs, streamReadBuf)
		if err != nil {
			return nil, err
		}
		conns = append(conns, c)
	}
	// On cancellation, expire every deadline so blocked reads and writes
	// return at once.
	unblock := func() {
		for _, c := range conns {
			c.nc.SetDeadline(time.Unix(1, 0))
		}
	}
	return measure(ctx, cfg, len(conns), func(i int, w *window) error { return work(i, conns[i], w) }, unblock)
}
