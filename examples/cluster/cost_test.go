package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirekit/websocket"
)

// TestConnCost measures what an idle member costs a node: CLUSTER_CONNS
// clients (default: the test is skipped) join 10 rooms of one node, built
// without the race detector, and the node's live heap, stacks, goroutines
// and resident memory are compared before and after.
//
//	CLUSTER_CONNS=10000 go test -run TestConnCost -v .
func TestConnCost(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CLUSTER_CONNS"))
	if n <= 0 {
		t.Skip("set CLUSTER_CONNS=N to measure N connections to one node")
	}
	r := startRedis(t)
	node := startNode(t, nodeBinary(t, false), "n1", r.addr)
	before := getStats(t, node.addr, true)
	rssBefore := rss(t, node.pid())

	ctx := timeoutCtx(t, 5*time.Minute)
	conns := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 64) // dials at once
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			q := url.Values{"room": {fmt.Sprintf("room-%d", i%10)}, "name": {fmt.Sprintf("u%d", i)}}
			c, _, err := websocket.Dial(ctx, "ws://"+node.addr+"/ws?"+q.Encode(), &websocket.DialOptions{
				HTTPHeader: http.Header{"Origin": {"http://" + node.addr}},
			})
			if err != nil {
				errs <- err
				return
			}
			var j wire
			if err := c.ReadJSON(ctx, &j); err != nil || j.Type != "joined" {
				errs <- fmt.Errorf("no joined message: %+v, %v", j, err)
				c.CloseNow()
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("connecting %d clients: %v", n, err)
	}
	took := time.Since(start)
	t.Cleanup(func() {
		for _, c := range conns {
			c.CloseNow()
		}
	})

	after := getStats(t, node.addr, true)
	rssAfter := rss(t, node.pid())
	if after.Conns != n || after.Members != n {
		t.Fatalf("node reports %d conns, %d members; want %d", after.Conns, after.Members, n)
	}
	per := func(a, b uint64) float64 { return float64(int64(b)-int64(a)) / float64(n) }
	t.Logf("%d idle members in 10 rooms of one node, joined in %v", n, took.Round(time.Millisecond))
	t.Logf("per connection: heap %.0f B, stacks %.0f B, resident %.0f B, goroutines %.2f",
		per(before.HeapBytes, after.HeapBytes), per(before.StackBytes, after.StackBytes),
		per(rssBefore, rssAfter), float64(after.Goroutines-before.Goroutines)/float64(n))
}

// rss returns a process's resident memory in bytes, from /proc.
func rss(t *testing.T, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS in /proc/PID/status")
	return 0
}
