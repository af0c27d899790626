package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/fanout"
	"github.com/wirekit/websocket/benchmarks/internal/latency"
	"github.com/wirekit/websocket/benchmarks/internal/procfs"
	"github.com/wirekit/websocket/benchmarks/internal/wsclient"
)

// FanoutConfig describes the steps of a Fanout run.
type FanoutConfig struct {
	// Rates are the publish rates, in messages per second, one step each,
	// in this order.
	Rates []float64
	// Step is how long each rate is kept up; it is the measured window.
	Step time.Duration
	// PubPath is the publisher's endpoint (Config.Path is the
	// subscribers'). Default fanout.PublishPath.
	PubPath string
	// StatsPath is the server's endpoint for fanout.Stats, or "" for a
	// server without one: the run then cannot wait for the server to
	// count its subscribers, and reports no allocations.
	StatsPath string
	// Lag is how old a message may be and still not have reached a
	// subscriber at the end of a step before that subscriber counts as
	// behind. Default 1 s.
	Lag time.Duration
	// CatchUp is the longest pause after each step for every subscriber
	// to receive everything published so far. Default 2 s.
	CatchUp time.Duration
	// ReadBuf is each subscriber's read buffer. Default 16 KiB: a
	// subscriber that has fallen behind takes several messages per read.
	ReadBuf int
	// ProfileOut, if set, is a file for a CPU profile of the server
	// (from fanout.ProfilePath) taken during the step at ProfileRate.
	ProfileOut  string
	ProfileRate float64
}

func (f *FanoutConfig) validate(size int) error {
	if size < fanoutHeaderLen {
		return fmt.Errorf("loadgen: fan-out messages carry a %d-byte header: -size must be at least that", fanoutHeaderLen)
	}
	if len(f.Rates) == 0 || len(f.Rates) >= warmupStep {
		return errors.New("loadgen: fan-out needs at least one rate")
	}
	for _, r := range f.Rates {
		if r <= 0 {
			return fmt.Errorf("loadgen: rate %v is not positive", r)
		}
	}
	if f.Step <= 0 {
		return errors.New("loadgen: fan-out step duration must be positive")
	}
	if f.PubPath == "" {
		f.PubPath = fanout.PublishPath
	}
	if f.Lag <= 0 {
		f.Lag = time.Second
	}
	if f.CatchUp <= 0 {
		f.CatchUp = 2 * time.Second
	}
	if f.ReadBuf <= 0 {
		f.ReadBuf = 16 << 10
	}
	return nil
}

// FanoutResult is what a Fanout run measured.
type FanoutResult struct {
	Subscribers  int          `json:"subscribers"`
	SetupSeconds float64      `json:"setup_seconds"` // opening them
	Steps        []FanoutStep `json:"steps"`

	// Totals over the steps, the warm-up left out. With a faithful server
	// that drops nobody, Delivered is Published × Subscribers and Missing,
	// OutOfOrder and Undelivered are 0.
	Published   int64 `json:"published"`
	Delivered   int64 `json:"delivered"`    // deliveries of those messages, whenever they arrived
	Missing     int64 `json:"missing"`      // messages a subscriber skipped: a gap in its sequence
	OutOfOrder  int64 `json:"out_of_order"` // messages older than one already received (reordered or repeated)
	Undelivered int64 `json:"undelivered"`  // still missing at live subscribers when the run ended
	Dropped     int   `json:"dropped"`      // subscribers the server closed
	// DropReasons counts the dropped subscribers by what they saw.
	DropReasons map[string]int `json:"drop_reasons,omitempty"`
	Notes       []string       `json:"notes,omitempty"`
}

// FanoutStep is one rate's measurements. Rates cover the step's window,
// while the publisher kept to the rate; costs per delivery cover the
// window and the catch-up after it; latencies cover the messages published
// in the window, whenever they arrived.
type FanoutStep struct {
	Rate        float64 `json:"rate"` // target, messages per second
	Seconds     float64 `json:"seconds"`
	Published   int64   `json:"published"`
	PublishRate float64 `json:"publish_rate"`
	// Skipped counts the messages due in the window that were not
	// published because the publisher had publisherQueue messages waiting
	// to be written already: the server read its messages more slowly.
	Skipped int64 `json:"skipped"`
	// Unwritten is how many messages were waiting for the publisher's
	// writer at the end of the window (the server had not read them), and
	// UnwrittenAge how long the oldest had waited, in seconds.
	Unwritten    int64   `json:"unwritten"`
	UnwrittenAge float64 `json:"unwritten_age_seconds"`
	// Throttled is set when the server did not take the publisher's
	// messages at the rate: some were skipped, or one had waited to be
	// written for more than Lag at the end of the window.
	Throttled bool `json:"throttled"`

	Subscribers      int     `json:"subscribers"` // live at the start
	Offered          float64 `json:"offered_per_sec"`
	Deliveries       int64   `json:"deliveries"` // received in the window, from any step
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`
	ServerBusy       float64 `json:"server_busy"` // CPUs the server used in the window, on average
	ClientBusy       float64 `json:"client_busy"`

	// The costs cover the window and the catch-up after it: CostSeconds,
	// in which CostDeliveries arrived. When every subscriber caught up,
	// those are exactly the step's messages times the subscribers.
	CostSeconds    float64 `json:"cost_seconds"`
	CostDeliveries int64   `json:"cost_deliveries"`
	ServerTicks    int64   `json:"server_ticks"`
	ClientTicks    int64   `json:"client_ticks"`
	OtherTicks     int64   `json:"other_ticks"`
	OtherLoad      float64 `json:"other_load_cpus"`

	ServerCPUPerDelivery float64 `json:"server_cpu_us_per_delivery"`
	ServerWrites         int64   `json:"server_write_syscalls"`
	WritesPerDelivery    float64 `json:"server_writes_per_delivery"`
	// Allocations are read from the server's stats endpoint just before
	// the window and just after the catch-up, per delivery received in
	// between; -1 when the server has no stats endpoint.
	ServerAllocs          int64   `json:"server_allocs"`
	AllocsPerDelivery     float64 `json:"server_allocs_per_delivery"`
	AllocBytesPerDelivery float64 `json:"server_alloc_bytes_per_delivery"`
	ServerGCs             int64   `json:"server_gcs"`
	ServerRSS             int64   `json:"server_rss_bytes"`
	ServerHeapInuse       int64   `json:"server_heap_inuse_bytes"`
	ServerGoroutines      int     `json:"server_goroutines"`

	Received int64   `json:"received"` // deliveries of this step's messages
	P50      float64 `json:"p50_us"`
	P99      float64 `json:"p99_us"`
	Max      float64 `json:"max_us"`

	Dropped int `json:"dropped"` // subscribers the server closed during the step
	// Lagging counts the live subscribers that, at the end of the
	// window, still lacked a message published more than Lag earlier;
	// MaxLag is the age of the oldest message any live subscriber lacked.
	Lagging int     `json:"lagging"`
	MaxLag  float64 `json:"max_lag_seconds"`
	Behind  bool    `json:"behind"` // Lagging > 0 or Throttled
	// CaughtUp reports whether every live subscriber had every message
	// within CatchUp after the window, and CatchUpSeconds how long that
	// took.
	CaughtUp       bool    `json:"caught_up"`
	CatchUpSeconds float64 `json:"catch_up_seconds"`

	Missing    int64 `json:"missing"`
	OutOfOrder int64 `json:"out_of_order"`

	// PublisherLost says why, if the server ended the publisher's
	// connection during the step; the run ends after it.
	PublisherLost string `json:"publisher_lost,omitempty"`
}

// fanoutDialers is how many subscriber connections are opened at once.
const fanoutDialers = 32

// stepCounters collect, for the messages of one step, what the
// subscribers saw.
type stepCounters struct {
	hist       latency.Shared
	received   atomic.Int64
	missing    atomic.Int64
	outOfOrder atomic.Int64
	dropped    atomic.Int64 // subscribers closed while the step ran
}

// subscriber is one subscribing connection. Only its reader goroutine
// writes to it (pongs).
type subscriber struct {
	nc      net.Conn
	rd      *wsclient.Reader
	next    atomic.Uint64 // the sequence number expected next, once started
	started atomic.Bool   // a first message has arrived
	ended   atomic.Bool   // the connection is gone
	pong    []byte
}

// publisher is the publishing connection. The pacing loop hands it
// messages through queue, never waiting, and its writer goroutine writes
// them as fast as the server reads them; so a server that falls behind
// delays messages (their latency counts from when they were due) but not
// the steps. Its writes (messages, and pongs from its reader) are
// serialised by mu.
type publisher struct {
	mu      sync.Mutex
	nc      net.Conn
	rd      *wsclient.Reader
	queue   chan pubMsg
	written atomic.Uint64 // messages written
}

// pubMsg is a message due to be published.
type pubMsg struct {
	seq  uint64
	due  time.Duration // since the epoch
	step int
}

// publisherQueue is how many messages may wait for the publisher's
// writer; more are skipped, and the step counts as throttled.
const publisherQueue = 4096

type fanoutRun struct {
	cfg   Config
	fc    FanoutConfig
	msgs  *fanoutMessages
	epoch time.Time
	fail  func(error)
	httpc *http.Client

	mu     sync.Mutex // guards subs while connections are opened, and closed
	subs   []*subscriber
	closed bool
	pub    *publisher

	readers   sync.WaitGroup
	delivered atomic.Int64 // every delivery, warm-up included
	phase     atomic.Int32 // the step being published; -1 before the first
	stopping  atomic.Bool  // the run is closing the connections itself
	warm      *stepCounters
	steps     []*stepCounters

	dropMu      sync.Mutex
	dropReasons map[string]int

	lostMu sync.Mutex
	lost   error // why the publisher's connection ended, if the server ended it

	pubTimes []time.Duration // when each message was sent, by sequence number; the main goroutine's
}

func runFanout(ctx context.Context, cfg Config) (*Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r := &fanoutRun{
		cfg:         cfg,
		fc:          cfg.Fanout,
		msgs:        newFanoutMessages(cfg.Size),
		epoch:       time.Now(),
		fail:        cancel,
		httpc:       &http.Client{Timeout: cfg.Timeout},
		warm:        new(stepCounters),
		dropReasons: map[string]int{},
	}
	for range cfg.Fanout.Rates {
		r.steps = append(r.steps, new(stepCounters))
	}
	r.phase.Store(-1)
	// On failure or interruption, closing every connection unblocks the
	// readers and the publisher.
	defer context.AfterFunc(ctx, r.closeAll)()
	defer r.shutdown()

	res := &FanoutResult{Subscribers: cfg.Conns}
	d := newDialer(cfg.Addr, cfg.Path, cfg.Conns+1, cfg.Timeout)
	start := time.Now()
	if err := r.openSubscribers(ctx, d); err != nil {
		return nil, err
	}
	res.SetupSeconds = time.Since(start).Seconds()
	r.cfg.logf("%d subscribers open in %.1f s", len(r.subs), res.SetupSeconds)
	if err := r.awaitMembers(ctx); err != nil {
		return nil, err
	}
	if err := r.openPublisher(d); err != nil {
		return nil, err
	}
	if err := r.warmUp(ctx); err != nil {
		return nil, err
	}

	total := &Result{Mode: Fanout, Conns: cfg.Conns, Size: cfg.Size}
	for i, rate := range r.fc.Rates {
		st, err := r.step(ctx, i, rate)
		if err != nil {
			return nil, err
		}
		res.Steps = append(res.Steps, st.FanoutStep)
		if st.profileErr != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("profile at %v/s: %v", rate, st.profileErr))
		}
		total.Ops += st.CostDeliveries
		total.Seconds += st.CostSeconds
		total.ServerTicks += st.ServerTicks
		total.ClientTicks += st.ClientTicks
		total.OtherTicks += st.OtherTicks
		if st.PublisherLost != "" {
			res.Notes = append(res.Notes, fmt.Sprintf("the run ended after the step at %v/s: %s", rate, st.PublisherLost))
			break
		}
	}
	// The last messages may still be on their way.
	r.catchUp(ctx, r.cfg.Timeout)
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	r.tally(res)
	total.Fanout = res
	return total.finish(), nil
}

// openSubscribers opens cfg.Conns subscriber connections, fanoutDialers
// at a time, and starts each one's reader as soon as it is open.
func (r *fanoutRun) openSubscribers(ctx context.Context, d *dialer) error {
	n := r.cfg.Conns
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, fanoutDialers)
	for range min(fanoutDialers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				nc, br, err := d.open(r.cfg.Path, r.fc.ReadBuf)
				if err != nil {
					errs <- fmt.Errorf("opening subscriber %d of %d: %w", i+1, n, err)
					next.Store(int64(n)) // stop the other dialers
					return
				}
				s := &subscriber{nc: nc, rd: wsclient.NewReader(br)}
				s.rd.OnPing = func(p []byte) error {
					s.pong = wsclient.AppendFrame(s.pong[:0], wsclient.OpPong, p, rand.Uint32())
					_, err := s.nc.Write(s.pong)
					return err
				}
				if !r.add(s) {
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return context.Cause(ctx)
	}
}

// add registers s and starts its reader, unless the run is closing.
func (r *fanoutRun) add(s *subscriber) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		abort(s.nc)
		return false
	}
	r.subs = append(r.subs, s)
	r.readers.Add(1)
	go r.read(s)
	return true
}

// read receives a subscriber's messages until its connection ends.
func (r *fanoutRun) read(s *subscriber) {
	defer r.readers.Done()
	size := r.cfg.Size
	for {
		op, p, err := s.rd.ReadMessage(size)
		if err != nil {
			r.ended(s, err)
			return
		}
		now := time.Since(r.epoch)
		seq, sent, step, err := r.msgs.parse(op, p)
		if err == nil && step != warmupStep && step >= len(r.steps) {
			err = fmt.Errorf("message %d: step %d, but there are %d", seq, step, len(r.steps))
		}
		if err != nil {
			s.ended.Store(true)
			r.fail(fmt.Errorf("subscriber %v: %w", s.nc.LocalAddr(), err))
			return
		}
		sc := r.warm
		if step != warmupStep {
			sc = r.steps[step]
		}
		if !s.started.Load() {
			s.next.Store(seq + 1)
			s.started.Store(true)
		} else {
			switch want := s.next.Load(); {
			case seq == want:
				s.next.Store(seq + 1)
			case seq > want:
				sc.missing.Add(int64(seq - want))
				s.next.Store(seq + 1)
			default:
				sc.outOfOrder.Add(1)
			}
		}
		sc.received.Add(1)
		sc.hist.Record(now - sent)
		r.delivered.Add(1)
	}
}

// ended notes the end of a subscriber's connection: a drop, unless the run
// is closing it.
func (r *fanoutRun) ended(s *subscriber, err error) {
	s.ended.Store(true)
	abort(s.nc)
	if r.stopping.Load() {
		return
	}
	sc := r.warm
	if i := r.phase.Load(); i >= 0 {
		sc = r.steps[i]
	}
	sc.dropped.Add(1)
	r.dropMu.Lock()
	r.dropReasons[dropReason(err)]++
	r.dropMu.Unlock()
}

func dropReason(err error) string {
	var ce *wsclient.CloseError
	switch {
	case errors.As(err, &ce):
		return fmt.Sprintf("close frame %d", ce.Code)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without a close frame"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	return "read failed: " + err.Error()
}

// awaitMembers waits until the server counts every subscriber, so that
// none misses the first messages because it was still being registered.
func (r *fanoutRun) awaitMembers(ctx context.Context) error {
	if r.fc.StatsPath == "" {
		return nil
	}
	deadline := time.Now().Add(r.cfg.Timeout)
	for {
		st, err := r.stats()
		if err != nil {
			return err
		}
		if st.Members >= r.cfg.Conns {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server counts %d subscribers, want %d", st.Members, r.cfg.Conns)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

func (r *fanoutRun) stats() (*fanout.Stats, error) {
	resp, err := r.httpc.Get("http://" + r.cfg.Addr + r.fc.StatsPath)
	if err != nil {
		return nil, fmt.Errorf("server stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("server stats: %s", resp.Status)
	}
	var st fanout.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("server stats: %w", err)
	}
	return &st, nil
}

func (r *fanoutRun) openPublisher(d *dialer) error {
	nc, br, err := d.open(r.fc.PubPath, 4<<10)
	if err != nil {
		return fmt.Errorf("opening the publisher: %w", err)
	}
	p := &publisher{nc: nc, rd: wsclient.NewReader(br), queue: make(chan pubMsg, publisherQueue)}
	var pong []byte
	p.rd.OnPing = func(b []byte) error {
		pong = wsclient.AppendFrame(pong[:0], wsclient.OpPong, b, rand.Uint32())
		p.mu.Lock()
		defer p.mu.Unlock()
		_, err := p.nc.Write(pong)
		return err
	}
	r.mu.Lock()
	r.pub = p
	closed := r.closed
	r.mu.Unlock()
	if closed {
		abort(nc)
		return errors.New("run cancelled")
	}
	r.readers.Go(func() {
		_, _, err := p.rd.ReadMessage(125)
		if r.stopping.Load() {
			return
		}
		if err == nil {
			err = errors.New("the server sent it a data message")
		}
		r.lose(fmt.Errorf("the server ended the publisher's connection: %w", err))
	})
	r.readers.Go(func() { r.write(p) })
	return nil
}

// write is the publisher's writer: it sends what the pacing loop queues
// until the queue is closed.
func (r *fanoutRun) write(p *publisher) {
	body := append([]byte(nil), r.msgs.pattern...)
	var out []byte
	for m := range p.queue {
		r.msgs.fill(body, m.seq, m.due, m.step)
		out = wsclient.AppendFrame(out[:0], wsclient.OpBinary, body, rand.Uint32())
		p.mu.Lock()
		_, err := p.nc.Write(out)
		p.mu.Unlock()
		if err != nil {
			if !r.stopping.Load() {
				r.lose(fmt.Errorf("writing to the publisher's connection: %w", err))
			}
			return
		}
		p.written.Add(1)
	}
}

// lose records that the server ended the publisher's connection: the run
// stops publishing and reports the steps it completed.
func (r *fanoutRun) lose(err error) {
	r.lostMu.Lock()
	defer r.lostMu.Unlock()
	if r.lost == nil {
		r.lost = err
	}
}

// publisherLost returns why the publisher's connection ended, or nil.
func (r *fanoutRun) publisherLost() error {
	r.lostMu.Lock()
	defer r.lostMu.Unlock()
	return r.lost
}

// publish queues the next message, due now, for the publisher's writer.
// It reports false, and skips the message, if the queue is full.
func (r *fanoutRun) publish(step int) bool {
	m := pubMsg{seq: uint64(len(r.pubTimes)), due: time.Since(r.epoch), step: step}
	select {
	case r.pub.queue <- m:
		r.pubTimes = append(r.pubTimes, m.due)
		return true
	default:
		return false
	}
}

// pace publishes at rate for d, or, if d is zero, until done reports true.
// Message k is due at start + k/rate; the pacing loop catches up on
// messages that fell due while it was not scheduled. It returns how many
// it queued and how many it skipped because the publisher's queue was full.
func (r *fanoutRun) pace(ctx context.Context, rate float64, d time.Duration, step int, done func() bool) (sent, skipped int64, err error) {
	start := time.Now()
	var next int64
	for {
		elapsed := time.Since(start)
		if d > 0 && elapsed >= d || d == 0 && done() || r.publisherLost() != nil {
			return sent, skipped, nil
		}
		for due := int64(rate*elapsed.Seconds()) + 1; next < due; next++ {
			if r.publish(step) {
				sent++
			} else {
				skipped++
			}
		}
		wait := time.Duration(float64(next)/rate*float64(time.Second)) - time.Since(start)
		if d > 0 {
			wait = min(wait, d-time.Since(start))
		}
		if err := sleep(ctx, max(wait, 0)); err != nil {
			return sent, skipped, err
		}
	}
}

// unwritten returns how many queued messages the publisher has not yet
// written, and how long the oldest of them has waited.
func (r *fanoutRun) unwritten(now time.Time) (int64, time.Duration) {
	written := r.pub.written.Load()
	queued := uint64(len(r.pubTimes))
	if written >= queued {
		return 0, 0
	}
	return int64(queued - written), now.Sub(r.epoch) - r.pubTimes[written]
}

// warmUp publishes at the first rate for at least cfg.Warmup and until
// every subscriber has received a message: each subscriber's sequence
// starts with the first message it gets, so a message still in flight to
// a late subscriber when the first step begins is not counted as lost.
func (r *fanoutRun) warmUp(ctx context.Context) error {
	deadline := time.Now().Add(r.cfg.Warmup + r.cfg.Timeout)
	minEnd := time.Now().Add(r.cfg.Warmup)
	var waiting int
	_, _, err := r.pace(ctx, r.fc.Rates[0], 0, warmupStep, func() bool {
		now := time.Now()
		if now.Before(minEnd) {
			return false
		}
		waiting = 0
		for _, s := range r.subs {
			if !s.started.Load() && !s.ended.Load() {
				waiting++
			}
		}
		return waiting == 0 || now.After(deadline)
	})
	if err != nil {
		return err
	}
	if err := r.publisherLost(); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if waiting > 0 {
		return fmt.Errorf("warm-up: %d of %d subscribers received nothing in %v", waiting, len(r.subs), r.cfg.Warmup+r.cfg.Timeout)
	}
	r.catchUp(ctx, r.fc.CatchUp)
	return context.Cause(ctx)
}

// fanoutSample is a reading of the counters a step is measured by.
type fanoutSample struct {
	at                      time.Time
	delivered               int64
	server, client, machine int64 // CPU ticks
	io                      procfs.IO
	rss                     int64
}

func (r *fanoutRun) sample() (fanoutSample, error) {
	s := fanoutSample{at: time.Now(), delivered: r.delivered.Load()}
	var err error
	if pid := r.cfg.ServerPID; pid != 0 {
		if s.server, err = procfs.CPUTicks(pid); err != nil {
			return s, fmt.Errorf("server CPU: %w", err)
		}
		if s.io, err = procfs.ReadIO(pid); err != nil {
			return s, fmt.Errorf("server I/O: %w", err)
		}
		if s.rss, err = procfs.RSSBytes(pid); err != nil {
			return s, err
		}
	}
	if s.client, err = procfs.CPUTicks(os.Getpid()); err != nil {
		return s, err
	}
	s.machine, err = procfs.MachineTicks()
	return s, err
}

// statsSample is the server's own counters, with the deliveries counted
// here when its answer arrived. A busy server may take a while to
// answer, so these are read outside the windows timed by sample.
type statsSample struct {
	stats     *fanout.Stats
	delivered int64
}

func (r *fanoutRun) statsSample() (statsSample, error) {
	if r.fc.StatsPath == "" {
		return statsSample{}, nil
	}
	st, err := r.stats()
	return statsSample{stats: st, delivered: r.delivered.Load()}, err
}

// stepRun is a step's measurements and what went wrong on the side.
type stepRun struct {
	FanoutStep
	profileErr error
}

// step publishes at rate for the step's duration and measures it. Rates
// cover the publishing window; costs per delivery cover that window and
// the catch-up after it, so that the work of delivering what was
// published in the step is counted with it even when the deliveries
// trail the publishing.
func (r *fanoutRun) step(ctx context.Context, i int, rate float64) (*stepRun, error) {
	live := r.live()
	r.phase.Store(int32(i))
	stats0, err := r.statsSample()
	if err != nil {
		return nil, err
	}
	start, err := r.sample()
	if err != nil {
		return nil, err
	}
	var profile chan error
	if r.fc.ProfileOut != "" && rate == r.fc.ProfileRate {
		profile = make(chan error, 1)
		go func() { profile <- r.profile(max(1, int(r.fc.Step/time.Second))) }()
	}
	sent, skipped, err := r.pace(ctx, rate, r.fc.Step, i, nil)
	if err != nil {
		return nil, err
	}
	lost := r.publisherLost()
	if lost != nil {
		// What was never written will never arrive.
		r.pubTimes = r.pubTimes[:min(uint64(len(r.pubTimes)), r.pub.written.Load())]
	}
	end, err := r.sample()
	if err != nil {
		return nil, err
	}
	lagging, maxLag := r.lag(end.at)
	unwritten, waited := r.unwritten(end.at)
	caughtUp, took := r.catchUp(ctx, r.fc.CatchUp)
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	after, err := r.sample()
	if err != nil {
		return nil, err
	}
	stats1, err := r.statsSample()
	if err != nil {
		return nil, err
	}

	st := &stepRun{}
	f := &st.FanoutStep
	f.Rate = rate
	f.Seconds = end.at.Sub(start.at).Seconds()
	f.Published = sent
	f.PublishRate = float64(sent) / f.Seconds
	f.Skipped = skipped
	f.Unwritten, f.UnwrittenAge = unwritten, waited.Seconds()
	f.Throttled = skipped > 0 || waited > r.fc.Lag
	f.Subscribers = live
	f.Offered = f.PublishRate * float64(live)
	f.Deliveries = end.delivered - start.delivered
	f.DeliveriesPerSec = float64(f.Deliveries) / f.Seconds
	f.ServerBusy = float64(end.server-start.server) / ticksPerSecond / f.Seconds
	f.ClientBusy = float64(end.client-start.client) / ticksPerSecond / f.Seconds

	f.CostSeconds = after.at.Sub(start.at).Seconds()
	f.CostDeliveries = after.delivered - start.delivered
	f.ServerTicks = after.server - start.server
	f.ClientTicks = after.client - start.client
	f.OtherTicks = max(0, (after.machine-start.machine)-f.ServerTicks-f.ClientTicks)
	f.OtherLoad = float64(f.OtherTicks) / ticksPerSecond / f.CostSeconds
	f.ServerWrites = after.io.SyscW - start.io.SyscW
	f.ServerRSS = after.rss
	if f.CostDeliveries > 0 {
		f.ServerCPUPerDelivery = float64(f.ServerTicks) * 1e6 / ticksPerSecond / float64(f.CostDeliveries)
		f.WritesPerDelivery = float64(f.ServerWrites) / float64(f.CostDeliveries)
	}
	f.ServerAllocs, f.AllocsPerDelivery, f.AllocBytesPerDelivery = -1, -1, -1
	if s0, s1 := stats0.stats, stats1.stats; s0 != nil && s1 != nil {
		f.ServerAllocs = int64(s1.Mallocs - s0.Mallocs)
		f.ServerGCs = int64(s1.NumGC - s0.NumGC)
		f.ServerHeapInuse = int64(s1.HeapInuse)
		f.ServerGoroutines = s1.Goroutines
		if n := stats1.delivered - stats0.delivered; n > 0 {
			f.AllocsPerDelivery = float64(f.ServerAllocs) / float64(n)
			f.AllocBytesPerDelivery = float64(s1.AllocBytes-s0.AllocBytes) / float64(n)
		}
	}
	f.Lagging, f.MaxLag = lagging, maxLag.Seconds()
	f.Behind = lagging > 0 || f.Throttled
	f.CaughtUp, f.CatchUpSeconds = caughtUp, took.Seconds()
	if lost != nil {
		f.PublisherLost = lost.Error()
	}
	if profile != nil {
		st.profileErr = <-profile
	}
	r.cfg.logf("%g/s: published %d (%d skipped, %d unwritten), %.0f deliveries/s, %.2f µs server CPU and %.3f writes per delivery, %d lagging (oldest %.2f s), %d dropped so far, caught up %v in %.2f s",
		rate, sent, skipped, unwritten, f.DeliveriesPerSec, f.ServerCPUPerDelivery, f.WritesPerDelivery, lagging, maxLag.Seconds(), r.cfg.Conns-r.live(), caughtUp, took.Seconds())
	return st, nil
}

// live counts the subscribers whose connection is open.
func (r *fanoutRun) live() int {
	n := 0
	for _, s := range r.subs {
		if !s.ended.Load() {
			n++
		}
	}
	return n
}

// lag returns how many live subscribers lack a message published more
// than Lag before now, and the age of the oldest message any of them lacks.
func (r *fanoutRun) lag(now time.Time) (lagging int, oldest time.Duration) {
	at := now.Sub(r.epoch)
	published := uint64(len(r.pubTimes))
	for _, s := range r.subs {
		if s.ended.Load() || !s.started.Load() {
			continue
		}
		next := s.next.Load()
		if next >= published {
			continue
		}
		age := at - r.pubTimes[next]
		oldest = max(oldest, age)
		if age > r.fc.Lag {
			lagging++
		}
	}
	return lagging, oldest
}

// catchUp waits, at most bound, until every live subscriber has received
// every message published, and reports whether they did and how long it
// took.
func (r *fanoutRun) catchUp(ctx context.Context, bound time.Duration) (bool, time.Duration) {
	start := time.Now()
	published := uint64(len(r.pubTimes))
	for {
		behind := false
		for _, s := range r.subs {
			if !s.ended.Load() && (!s.started.Load() || s.next.Load() < published) {
				behind = true
				break
			}
		}
		took := time.Since(start)
		if !behind {
			return true, took
		}
		if took >= bound || sleep(ctx, 5*time.Millisecond) != nil {
			return false, took
		}
	}
}

// profile fetches a CPU profile of the server over seconds.
func (r *fanoutRun) profile(seconds int) error {
	c := &http.Client{Timeout: time.Duration(seconds)*time.Second + r.cfg.Timeout}
	resp, err := c.Get(fmt.Sprintf("http://%s%s?seconds=%d", r.cfg.Addr, fanout.ProfilePath, seconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s", resp.Status)
	}
	f, err := os.Create(r.fc.ProfileOut)
	if err != nil {
		return err
	}
	if _, err := bufio.NewReader(resp.Body).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// tally fills in the run's totals and each step's latencies and loss
// counts, once the last messages have had their chance to arrive.
func (r *fanoutRun) tally(res *FanoutResult) {
	for i := range res.Steps {
		sc, st := r.steps[i], &res.Steps[i]
		h := sc.hist.Snapshot()
		st.Received = sc.received.Load()
		st.P50 = micros(h.Quantile(0.50))
		st.P99 = micros(h.Quantile(0.99))
		st.Max = micros(h.Max())
		st.Missing = sc.missing.Load()
		st.OutOfOrder = sc.outOfOrder.Load()
		st.Dropped = int(sc.dropped.Load())
		res.Published += st.Published
		res.Delivered += st.Received
		res.Missing += st.Missing
		res.OutOfOrder += st.OutOfOrder
		res.Dropped += st.Dropped
	}
	if n := r.warm.dropped.Load() + r.warm.missing.Load() + r.warm.outOfOrder.Load(); n > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("warm-up: %d subscribers dropped, %d messages missing, %d out of order",
			r.warm.dropped.Load(), r.warm.missing.Load(), r.warm.outOfOrder.Load()))
		res.Dropped += int(r.warm.dropped.Load())
	}
	published := uint64(len(r.pubTimes))
	for _, s := range r.subs {
		if !s.ended.Load() && s.started.Load() {
			res.Undelivered += int64(published - min(s.next.Load(), published))
		}
	}
	r.dropMu.Lock()
	if len(r.dropReasons) > 0 {
		res.DropReasons = r.dropReasons
	}
	r.dropMu.Unlock()
}

// closeAll closes every connection with a reset, which unblocks their
// readers and the publisher and leaves no TIME_WAIT on this side.
func (r *fanoutRun) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for _, s := range r.subs {
		abort(s.nc)
	}
	if r.pub != nil {
		abort(r.pub.nc)
	}
}

// shutdown ends the run: every connection is closed and every reader has
// returned.
func (r *fanoutRun) shutdown() {
	r.stopping.Store(true)
	if r.pub != nil {
		close(r.pub.queue) // only the main goroutine sends to it
	}
	r.closeAll()
	r.readers.Wait()
}
