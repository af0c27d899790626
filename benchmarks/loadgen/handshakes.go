package loadgen

import (
	"context"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/wsclient"
)

// handshakeReadBuf is the read buffer of a short-lived connection: enough
// for the server's 101 response and a small echo.
const handshakeReadBuf = 4 << 10

// runHandshakes runs cfg.Conns loops that each open a connection, echo one
// message, close it properly, and start over. One operation is one full
// connection lifetime, so the server CPU per operation covers accept,
// upgrade, one echo and the closing handshake.
func runHandshakes(ctx context.Context, cfg Config) (*Result, error) {
	msgs := newMessages(cfg.Size)
	// Each lifetime leaves a socket in TIME_WAIT on whichever side closed
	// first, so size the source-address pool for every connection the run
	// could open, not the few open at a time.
	d := newDialer(cfg.Addr, cfg.Path, 100000, cfg.Timeout)
	return measure(ctx, cfg, cfg.Conns, func(_ int, w *window) error {
		for !w.stopping() {
			c, err := d.dial(msgs, handshakeReadBuf)
			if err != nil {
				return err
			}
			c.nc.SetDeadline(time.Now().Add(cfg.Timeout))
			if err := c.echo(); err != nil {
				c.drop()
				return err
			}
			if err := wsclient.Close(c.nc, c.br, cfg.Timeout); err != nil {
				return c.errorf("%w", err)
			}
			w.ops.Add(1)
		}
		return nil
	}, nil)
}
