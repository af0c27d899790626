package loadgen_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/fanout"
	"github.com/wirekit/websocket/benchmarks/internal/fanouttest"
	"github.com/wirekit/websocket/benchmarks/loadgen"
)

const fanoutSubs = 10

func fanoutConfig(addr string) loadgen.Config {
	return loadgen.Config{
		Mode:    loadgen.Fanout,
		Addr:    addr,
		Path:    fanout.SubscribePath,
		Conns:   fanoutSubs,
		Size:    1 << 10,
		Warmup:  50 * time.Millisecond,
		Timeout: 5 * time.Second,
		Fanout: loadgen.FanoutConfig{
			// Two steps; the faults hit message 40, in the first.
			Rates:     []float64{200, 400},
			Step:      300 * time.Millisecond,
			StatsPath: fanout.StatsPath,
			CatchUp:   time.Second,
		},
	}
}

// runFanout runs the load generator against fault and checks what every
// result must satisfy.
func runFanout(t *testing.T, fault fanouttest.Fault) *loadgen.FanoutResult {
	t.Helper()
	res, err := loadgen.Run(context.Background(), fanoutConfig(fanouttest.Serve(t, fault)))
	if err != nil {
		t.Fatal(err)
	}
	f := res.Fanout
	if len(f.Steps) != 2 || f.Published < 100 || f.Subscribers != fanoutSubs {
		t.Fatalf("ran %d steps, published %d to %d subscribers: %+v", len(f.Steps), f.Published, f.Subscribers, f)
	}
	for _, st := range f.Steps {
		if st.Published == 0 || st.Received == 0 || st.DeliveriesPerSec <= 0 || st.P50 <= 0 || st.P99 < st.P50 {
			t.Errorf("step at %v/s: published %d, received %d, %v deliveries/s, p50 %v µs, p99 %v µs",
				st.Rate, st.Published, st.Received, st.DeliveriesPerSec, st.P50, st.P99)
		}
	}
	return f
}

func TestFanoutCountsEveryDelivery(t *testing.T) {
	f := runFanout(t, nil)
	if want := f.Published * fanoutSubs; f.Delivered != want {
		t.Errorf("delivered %d, want %d × %d = %d", f.Delivered, f.Published, fanoutSubs, want)
	}
	if f.Missing != 0 || f.OutOfOrder != 0 || f.Undelivered != 0 || f.Dropped != 0 {
		t.Errorf("a faithful server: %d missing, %d out of order, %d undelivered, %d dropped", f.Missing, f.OutOfOrder, f.Undelivered, f.Dropped)
	}
	var deliveries int64
	for _, st := range f.Steps {
		if st.Lagging != 0 || st.Throttled || !st.CaughtUp {
			t.Errorf("step at %v/s: %d lagging, throttled %v, caught up %v", st.Rate, st.Lagging, st.Throttled, st.CaughtUp)
		}
		deliveries += st.Deliveries
	}
	// The windows hold most deliveries: all but those of the warm-up's
	// last messages and of each step's last, which may land after it.
	if deliveries > f.Delivered+fanoutSubs*20 || deliveries < f.Delivered/2 {
		t.Errorf("the windows counted %d deliveries of %d", deliveries, f.Delivered)
	}
	// A step's costs cover its window and its catch-up: after a step that
	// caught up, exactly the step's messages to every subscriber.
	if s0, s1 := f.Steps[0], f.Steps[1]; s0.CaughtUp && s1.CaughtUp && s1.CostDeliveries != s1.Published*fanoutSubs {
		t.Errorf("second step: costs counted over %d deliveries, want %d × %d", s1.CostDeliveries, s1.Published, fanoutSubs)
	}
}

func TestFanoutCountsWrongDeliveries(t *testing.T) {
	for name, c := range map[string]struct {
		missing, outOfOrder, extra int64 // extra: deliveries beyond Published × subscribers
		dropped                    int
	}{
		"skipped":  {missing: 1, extra: -1},
		"swapped":  {missing: 1, outOfOrder: 1}, // a gap when the later one arrives, then the late one
		"repeated": {outOfOrder: 1, extra: 1},
		"closed":   {dropped: 1},
	} {
		t.Run(name, func(t *testing.T) {
			f := runFanout(t, fanouttest.Faults[name])
			if f.Missing != c.missing || f.OutOfOrder != c.outOfOrder || f.Dropped != c.dropped || f.Undelivered != 0 {
				t.Errorf("%d missing, %d out of order, %d dropped, %d undelivered; want %d, %d, %d, 0",
					f.Missing, f.OutOfOrder, f.Dropped, f.Undelivered, c.missing, c.outOfOrder, c.dropped)
			}
			if c.dropped > 0 {
				if f.DropReasons["close frame 1013"] != 1 {
					t.Errorf("drop reasons %v, want one close frame 1013", f.DropReasons)
				}
				if f.Steps[0].Dropped != 1 {
					t.Errorf("the drop was not counted in the first step: %+v", f.Steps[0])
				}
				// The dropped subscriber had the steps' messages before
				// message 40, no more.
				if f.Delivered >= f.Published*fanoutSubs-f.Steps[1].Published {
					t.Errorf("delivered %d of %d × %d: the dropped subscriber's share is still counted", f.Delivered, f.Published, fanoutSubs)
				}
				return
			}
			if want := f.Published*fanoutSubs + c.extra; f.Delivered != want {
				t.Errorf("delivered %d, want %d", f.Delivered, want)
			}
		})
	}
}

func TestFanoutFailsOnCorruptedMessage(t *testing.T) {
	_, err := loadgen.Run(context.Background(), fanoutConfig(fanouttest.Serve(t, fanouttest.Faults["corrupted"])))
	if err == nil {
		t.Fatal("a corrupted message went unnoticed")
	}
	if !strings.Contains(err.Error(), "message 40: byte 1023") {
		t.Errorf("error does not point at the corrupted byte: %v", err)
	}
}

// A server that ends the publisher's connection ends the run early, with
// the steps so far reported, not with an error.
func TestFanoutReportsLostPublisher(t *testing.T) {
	res, err := loadgen.Run(context.Background(), fanoutConfig(fanouttest.ServeClosingPublisher(t)))
	if err != nil {
		t.Fatal(err)
	}
	f := res.Fanout
	if len(f.Steps) != 1 || f.Steps[0].PublisherLost == "" {
		t.Fatalf("ran %d steps, the first lost its publisher: %q; want one", len(f.Steps), f.Steps[0].PublisherLost)
	}
	if len(f.Notes) != 1 || !strings.Contains(f.Notes[0], "ended after the step at 200/s") {
		t.Errorf("notes %q", f.Notes)
	}
	if f.Missing != 0 || f.OutOfOrder != 0 || f.Delivered > f.Published*fanoutSubs {
		t.Errorf("delivered %d of %d × %d, %d missing, %d out of order", f.Delivered, f.Published, fanoutSubs, f.Missing, f.OutOfOrder)
	}
}
