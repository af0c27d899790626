package loadgen

import "context"

// runPipelined keeps cfg.InFlight messages outstanding on every connection.
// Like a real high-rate client it batches: replacement messages are
// written together once no further echo is already waiting to be read.
func runPipelined(ctx context.Context, cfg Config) (*Result, error) {
	return runStream(ctx, cfg, func(_ int, c *conn, w *window) error {
		for range cfg.InFlight {
			c.queue()
		}
		if err := c.flush(); err != nil {
			return err
		}
		for c.awaited() > 0 {
			if err := c.expect(); err != nil {
				return err
			}
			w.ops.Add(1)
			if !w.stopping() {
				c.queue()
			}
			if c.br.Buffered() == 0 || c.awaited() == 0 {
				if err := c.flush(); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
