package loadgen

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/wsclient"
)

// portsPerSource is how many connections share one client address. Linux
// offers about 28,000 ephemeral ports per address; staying well below that
// leaves room for ports still held in TIME_WAIT by a previous run.
const portsPerSource = 16000

// dialer opens WebSocket connections, spreading them over client source
// addresses 127.0.0.2, 127.0.0.3, ... (all of 127.0.0.0/8 is local on
// Linux) so that tens of thousands of connections to a single server port
// do not run out of ephemeral ports.
type dialer struct {
	addr, path string
	timeout    time.Duration
	sources    []*net.TCPAddr
	next       atomic.Uint64
}

func newDialer(addr, path string, conns int, timeout time.Duration) *dialer {
	n := min(conns/portsPerSource+1, 253)
	d := &dialer{addr: addr, path: path, timeout: timeout}
	ip := netip.AddrFrom4([4]byte{127, 0, 0, 2})
	for range n {
		d.sources = append(d.sources, net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		ip = ip.Next()
	}
	return d
}

// dial opens a connection and completes the opening handshake.
func (d *dialer) dial(msgs *messages, readBuf int) (*conn, error) {
	nc, br, err := d.open(d.path, readBuf)
	if err != nil {
		return nil, err
	}
	return &conn{
		nc:   nc,
		br:   br,
		rd:   wsclient.NewReader(br),
		msgs: msgs,
		body: append([]byte(nil), msgs.pattern...),
		rng:  rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}, nil
}

// open opens a connection and completes the opening handshake for path,
// returning the connection and a reader of readBuf bytes over it.
func (d *dialer) open(path string, readBuf int) (net.Conn, *bufio.Reader, error) {
	src := d.sources[d.next.Add(1)%uint64(len(d.sources))]
	nd := net.Dialer{LocalAddr: src, Timeout: d.timeout}
	nc, err := nd.Dial("tcp", d.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s from %v: %w", d.addr, src.IP, err)
	}
	nc.SetDeadline(time.Now().Add(d.timeout))
	br := bufio.NewReaderSize(nc, readBuf)
	if err := wsclient.Handshake(nc, br, d.addr, path); err != nil {
		nc.Close()
		return nil, nil, err
	}
	nc.SetDeadline(time.Time{})
	return nc, br, nil
}

// conn is one client connection. Messages are numbered from 0 in send
// order and their echoes must come back in the same order.
type conn struct {
	nc   net.Conn
	br   *bufio.Reader
	rd   *wsclient.Reader
	msgs *messages
	body []byte     // the payload being encoded; only its prefix changes
	out  []byte     // encoded frames not yet written
	rng  *rand.Rand // masking keys: cheap, and unpredictable enough for a test client

	queued  uint64 // messages encoded into out or written
	written uint64 // messages written to the socket
	echoed  uint64 // messages whose echo was checked
}

// queue encodes the next message into the output buffer.
func (c *conn) queue() {
	seq := c.queued
	c.queued++
	c.msgs.fill(c.body, seq)
	c.out = wsclient.AppendFrame(c.out, c.msgs.opcode(seq), c.body, c.rng.Uint32())
}

// flush writes all queued messages in one write.
func (c *conn) flush() error {
	if len(c.out) == 0 {
		return nil
	}
	if _, err := c.nc.Write(c.out); err != nil {
		return c.errorf("write: %w", err)
	}
	c.out = c.out[:0]
	c.written = c.queued
	return nil
}

// awaited returns how many written messages still lack their echo.
func (c *conn) awaited() uint64 { return c.written - c.echoed }

// expect reads the next echo and checks it against what was sent.
func (c *conn) expect() error {
	if c.awaited() == 0 {
		return c.errorf("internal error: reading an echo that was never sent")
	}
	op, p, err := c.rd.ReadMessage(c.msgs.size())
	if err != nil {
		return c.errorf("echo of message %d: %w", c.echoed, err)
	}
	if err := c.msgs.check(c.echoed, op, p); err != nil {
		return c.errorf("%w", err)
	}
	c.echoed++
	return nil
}

// echo sends one message and checks its echo.
func (c *conn) echo() error {
	c.queue()
	if err := c.flush(); err != nil {
		return err
	}
	return c.expect()
}

// drop closes the connection with a reset rather than a FIN, so teardown
// after a measurement leaves no TIME_WAIT socket holding a client port.
func (c *conn) drop() { abort(c.nc) }

func abort(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	nc.Close()
}

func (c *conn) errorf(format string, args ...any) error {
	return fmt.Errorf("conn %v: %w", c.nc.LocalAddr(), fmt.Errorf(format, args...))
}
