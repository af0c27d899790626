package loadgen

import (
	"context"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/latency"
)

// runPingPong has each connection send a message, wait for its echo, and
// repeat, timing each round trip.
func runPingPong(ctx context.Context, cfg Config) (*Result, error) {
	hists := make([]latency.Histogram, cfg.Conns)
	res, err := runStream(ctx, cfg, func(i int, c *conn, w *window) error {
		h := &hists[i]
		for !w.stopping() {
			start := time.Now()
			if err := c.echo(); err != nil {
				return err
			}
			if w.measuring() {
				h.Record(time.Since(start))
			}
			w.ops.Add(1)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var all latency.Histogram
	for i := range hists {
		all.Merge(&hists[i])
	}
	res.P50 = micros(all.Quantile(0.50))
	res.P99 = micros(all.Quantile(0.99))
	return res, nil
}
