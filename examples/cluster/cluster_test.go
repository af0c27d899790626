package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wirekit/websocket"
)

const (
	numClients = 300
	numRooms   = 20 // 15 members each; not a multiple of 3, so a room's members are not all on one node
	// limit bounds each wait: far above what any step takes (seconds on
	// a quiet machine; up to 40 s seen on one shared with other heavy
	// work), so that only a real failure reaches it.
	limit = 2 * time.Minute
)

// cluster is the system under test: redis-server, three nodes, nginx in
// front, and the clients.
type cluster struct {
	t       *testing.T
	redis   *redisServer
	rdb     *redis.Client // the test's own, to read the streams
	nodes   []*nodeProc
	proxy   string
	clients []*chatClient
	changed event
	tally   tally
	// before is, per client, how many messages it had received when Redis
	// lost its data: what its room's stream no longer holds.
	before map[*chatClient]int
}

// TestCluster runs the chat as a deployment would: three node processes
// behind nginx, with Redis between them, and 300 clients connected
// through nginx. It checks that every message reaches every member of its
// room, on every node, in the stream's order, exactly once; then it takes
// the system apart piece by piece and checks the same after each: a node
// killed (SIGKILL), a node stopped gracefully (SIGTERM: 1001 to its
// clients), and redis-server killed and restarted.
func TestCluster(t *testing.T) {
	cl := &cluster{t: t, changed: newEvent()}
	cl.redis = startRedis(t)
	cl.rdb = redis.NewClient(&redis.Options{Addr: cl.redis.addr})
	t.Cleanup(func() { cl.rdb.Close() })
	bin := nodeBinary(t, true)
	var backends []string
	for i := 1; i <= 3; i++ {
		n := startNode(t, bin, fmt.Sprintf("n%d", i), cl.redis.addr)
		cl.nodes = append(cl.nodes, n)
		backends = append(backends, n.addr)
	}
	cl.proxy = startNginx(t, backends)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for i := range numClients {
		c := newChatClient("ws://"+cl.proxy+"/ws", "http://"+cl.proxy,
			fmt.Sprintf("room-%d", i%numRooms), fmt.Sprintf("user%03d", i), cl.changed, &cl.tally)
		cl.clients = append(cl.clients, c)
		wg.Go(func() { c.run(ctx) })
	}
	took := waitFor(t, cl.changed, limit, "all clients to join", func() (bool, string) {
		n := cl.tally.connects.Load()
		return n == numClients, fmt.Sprintf("%d of %d joined", n, numClients)
	})
	t.Logf("%d clients joined through nginx in %v", numClients, took.Round(time.Millisecond))

	// The spread: least_conn gives each node its share. The nodes' own
	// counts agree with what the clients were told.
	perNode := cl.perNode()
	t.Logf("spread: %v", perNode)
	for _, n := range cl.nodes {
		if got := perNode[n.id]; got < numClients/4 {
			t.Errorf("node %s has %d of %d clients; least_conn should give each about a third", n.id, got, numClients)
		}
		rooms := map[string]bool{}
		for _, c := range cl.clientsOn(n.id) {
			rooms[c.room] = true
		}
		if s := n.stats(t); s.Conns != perNode[n.id] || s.Members != perNode[n.id] || s.Rooms != len(rooms) {
			t.Errorf("node %s reports %+v; its clients say %d in %d rooms", n.id, s, perNode[n.id], len(rooms))
		}
	}
	// What the test is about: rooms whose members are on several nodes,
	// so that a message said on one must reach members on the others.
	spans := map[string]map[string]bool{}
	for _, c := range cl.clients {
		if spans[c.room] == nil {
			spans[c.room] = map[string]bool{}
		}
		spans[c.room][c.status().node] = true
	}
	across := map[int]int{} // number of nodes → rooms spanning that many
	for room, nodes := range spans {
		across[len(nodes)]++
		if len(nodes) < 2 {
			t.Errorf("all of %s's members are on one node: nothing crosses nodes there", room)
		}
	}
	t.Logf("rooms by the number of nodes their members are on: %v", across)

	t.Run("fan-out", func(t *testing.T) {
		cl.t = t
		cl.sayRound(ctx, 3, nil)
		cl.checkExact()
	})

	t.Run("node-killed", func(t *testing.T) {
		cl.t = t
		victim := cl.nodes[1]
		onVictim := cl.clientsOn(victim.id)
		// Kill it while messages are in flight: some of its clients'
		// messages are stored but not acknowledged, some not stored.
		var start time.Time
		cl.sayRound(ctx, 3, func() {
			start = time.Now()
			victim.kill()
			took := waitFor(t, cl.changed, limit, "the killed node's clients to rejoin elsewhere", func() (bool, string) {
				back := 0
				for _, c := range onVictim {
					if s := c.status(); c.connected() && s.node != victim.id {
						back++
					}
				}
				return back == len(onVictim), fmt.Sprintf("%d of %d rejoined", back, len(onVictim))
			})
			t.Logf("converged: all %d clients of %s rejoined through nginx %v after SIGKILL", len(onVictim), victim.id, took.Round(time.Millisecond))
			cl.logFailures()
			// Where the time went, for each of the victim's clients: from
			// the kill until it saw its connection end, and from then
			// until its new node's "joined".
			var seen, rejoin []time.Duration
			for _, c := range onVictim {
				c.mu.Lock()
				if k := len(c.endedAt); k > 0 && len(c.joinedAt) > k {
					seen = append(seen, c.endedAt[k-1].Sub(start))
					rejoin = append(rejoin, c.joinedAt[k].Sub(c.endedAt[k-1]))
				}
				c.mu.Unlock()
			}
			t.Logf("kill to end seen: %s; end to rejoined: %s (min, median, max)", spread(seen), spread(rejoin))
		})
		t.Logf("%d clients of %s reconnected elsewhere; all messages delivered %v after the kill",
			len(onVictim), victim.id, time.Since(start).Round(time.Millisecond))
		for _, c := range onVictim {
			if s := c.status(); s.connects < 2 || s.node == victim.id {
				t.Errorf("%s: %d connections, now on %s", c.name, s.connects, s.node)
			}
		}
		cl.checkExact()
		// The killed node comes back, empty; nginx sends it new
		// connections once its fail_timeout has passed.
		victim.start()
	})

	t.Run("node-stopped-gracefully", func(t *testing.T) {
		cl.t = t
		victim := cl.nodes[2]
		onVictim := cl.clientsOn(victim.id)
		before := map[*chatClient]int{}
		for _, c := range onVictim {
			before[c] = c.status().connects
		}
		var start time.Time
		cl.sayRound(ctx, 3, func() {
			start = time.Now()
			if err := victim.term(limit); err != nil {
				t.Errorf("%s exited with %v after SIGTERM", victim.id, err)
			}
			t.Logf("%s exited %v after SIGTERM", victim.id, time.Since(start).Round(time.Millisecond))
		})
		t.Logf("%s stopped; its %d clients moved; all delivered %v after SIGTERM", victim.id, len(onVictim), time.Since(start).Round(time.Millisecond))
		for _, c := range onVictim {
			c.mu.Lock()
			var code websocket.StatusCode
			if len(c.closes) >= before[c] {
				code = c.closes[before[c]-1]
			}
			c.mu.Unlock()
			if code != websocket.StatusGoingAway {
				t.Errorf("%s: connection to %s ended with %d, want 1001", c.name, victim.id, code)
			}
		}
		cl.checkExact()
		t.Logf("spread now: %v", cl.perNode())
		victim.start()
	})

	t.Run("redis-restarted", func(t *testing.T) {
		cl.t = t
		connects := cl.connects()
		var killed, restarted time.Time
		cl.sayRound(ctx, 3, func() {
			cl.redis.kill()
			killed = time.Now()
			// The outage lasts until every node has seen it, so that it
			// is not over before it began for some.
			poll(t, limit, "every node to notice redis is gone", func() (bool, string) {
				for _, n := range cl.nodes {
					if n.stats(t).RedisUp {
						return false, n.id + " still reads"
					}
				}
				return true, ""
			})
			cl.redis.start()
			restarted = time.Now()
		})
		t.Logf("redis down for %v; every message stored and delivered %v after it was back",
			restarted.Sub(killed).Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond))
		if now := cl.connects(); now != connects {
			t.Errorf("clients reconnected %d times during the redis restart; the nodes should have ridden it out", now-connects)
		}
		cl.checkExact()
	})

	t.Run("redis-restarted-empty", func(t *testing.T) {
		cl.t = t
		connects := cl.connects()
		// Between rounds, so that no message is in flight: a resent one
		// would find its ref gone with the rest, and be stored again.
		cl.stopRedis()
		cl.redis.wipe()
		cl.before = map[*chatClient]int{}
		for _, c := range cl.clients {
			c.mu.Lock()
			cl.before[c] = len(c.got)
			c.mu.Unlock()
		}
		cl.redis.start()
		// Each node says which of its rooms lost their history.
		took := poll(t, limit, "every node to report the rooms whose history was lost", func() (bool, string) {
			for _, n := range cl.nodes {
				if s := n.stats(t); s.LostRooms != s.Rooms {
					return false, fmt.Sprintf("%s: %d of %d rooms", n.id, s.LostRooms, s.Rooms)
				}
			}
			return true, ""
		})
		for _, n := range cl.nodes {
			said := 0
			for _, line := range strings.Split(n.out.String(), "\n") {
				if strings.Contains(line, "lost its history") {
					if said == 0 {
						t.Logf("%s says: %s", n.id, line)
					}
					said++
				}
			}
			t.Logf("%s reported %d rooms' history lost", n.id, said)
		}
		t.Logf("all nodes reported the loss %v after redis was back", took.Round(time.Millisecond))
		cl.sayRound(ctx, 3, nil)
		if now := cl.connects(); now != connects {
			t.Errorf("clients reconnected %d times during the redis restart", now-connects)
		}
		cl.checkSinceWipe()
	})
}

// stopRedis kills redis-server and waits until every node has noticed.
func (cl *cluster) stopRedis() {
	t := cl.t
	t.Helper()
	cl.redis.kill()
	poll(t, limit, "every node to notice redis is gone", func() (bool, string) {
		for _, n := range cl.nodes {
			if n.stats(t).RedisUp {
				return false, n.id + " still reads"
			}
		}
		return true, ""
	})
}

// checkSinceWipe is checkExact for a Redis that lost its data: what each
// client received since then equals its room's new stream, and what it
// had before is untouched.
func (cl *cluster) checkSinceWipe() {
	t := cl.t
	t.Helper()
	total := 0
	for _, c := range cl.clients {
		msgs, err := cl.rdb.XRange(context.Background(), logKey(c.room), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		got := c.got[cl.before[c]:]
		if len(got) != len(msgs) {
			t.Errorf("%s: received %d messages since the wipe; the stream has %d", c.name, len(got), len(msgs))
		} else {
			for i, m := range msgs {
				if e := entryOf(m); got[i].id != e.ID || got[i].ref != e.Ref {
					t.Errorf("%s: message %d since the wipe is %v, the stream has %v", c.name, i, got[i], e)
					break
				}
			}
		}
		if len(c.violations) > 0 {
			t.Errorf("%s: out of order or twice: %v", c.name, c.violations)
		}
		for ref := range c.pending {
			t.Errorf("%s: %s never acknowledged", c.name, ref)
		}
		total += len(got)
		c.mu.Unlock()
	}
	if !t.Failed() {
		t.Logf("after the wipe: %d deliveries, each client's new messages equal to its room's new stream; what clients had before, they keep", total)
	}
}

// sayRound has every client say n messages, runs disrupt once a fifth of
// them are acknowledged (nil: no disruption), and waits until every client
// has every message of its room.
func (cl *cluster) sayRound(ctx context.Context, n int, disrupt func()) {
	t := cl.t
	t.Helper()
	acked := func() int { return int(cl.tally.acks.Load()) }
	target := acked() + n*numClients
	for _, c := range cl.clients {
		go func() {
			for range n {
				c.say(ctx)
			}
		}()
	}
	if disrupt != nil {
		first := target - n*numClients*4/5
		waitFor(t, cl.changed, limit, "a fifth of the messages to be acknowledged", func() (bool, string) {
			got := acked()
			return got >= first, fmt.Sprintf("%d of %d", got, first)
		})
		disrupt()
	}
	ackTook := waitFor(t, cl.changed, limit, "every message to be acknowledged", func() (bool, string) {
		got := acked()
		return got == target, fmt.Sprintf("%d of %d acknowledged", got, target)
	})
	// Every client receives its room's whole stream (it joined with
	// since=0): the round is over when as many messages have arrived as
	// that makes. checkExact then looks at each one.
	want := int64(0)
	for _, c := range cl.clients {
		want += int64(cl.before[c]) + cl.streamLen(c.room)
	}
	recvTook := waitFor(t, cl.changed, limit, "every client to receive its room's messages", func() (bool, string) {
		got := cl.tally.received.Load()
		return got >= want, fmt.Sprintf("%d of %d deliveries", got, want)
	})
	t.Logf("round of %d messages: all acknowledged %v after the disruption (or the start), all received %v later",
		n*numClients, ackTook.Round(time.Millisecond), recvTook.Round(time.Millisecond))
}

func (cl *cluster) streamLen(room string) int64 {
	n, err := cl.rdb.XLen(context.Background(), logKey(room)).Result()
	if err != nil {
		cl.t.Fatalf("XLEN %s: %v", room, err)
	}
	return n
}

// checkExact asserts the contract: each room's stream holds every message
// its members said exactly once, under the ID it was acknowledged with,
// and every member received exactly the stream, in order, whatever node
// it was on and however often it reconnected.
func (cl *cluster) checkExact() {
	t := cl.t
	t.Helper()
	streams := map[string][]entry{}
	for r := range numRooms {
		room := fmt.Sprintf("room-%d", r)
		msgs, err := cl.rdb.XRange(context.Background(), logKey(room), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]streamID{}
		for _, m := range msgs {
			e := entryOf(m)
			if prev, dup := seen[e.Ref]; dup {
				t.Errorf("%s: ref %s stored twice, as %s and %s", room, e.Ref, prev, e.ID)
			}
			seen[e.Ref] = e.ID
			streams[room] = append(streams[room], e)
		}
	}
	byRef := map[string]streamID{}
	for _, es := range streams {
		for _, e := range es {
			byRef[e.Ref] = e.ID
		}
	}
	total, lost, missed := 0, 0, 0
	for _, c := range cl.clients {
		c.mu.Lock()
		for k := range c.sent {
			ref := fmt.Sprintf("%s-%d", c.name, k)
			if id, ok := byRef[ref]; !ok {
				lost++
				t.Errorf("%s: %s is not in the stream: lost", c.name, ref)
			} else if c.acks[ref] != id {
				t.Errorf("%s: %s acknowledged as %s, stored as %s", c.name, ref, c.acks[ref], id)
			}
		}
		if len(c.violations) > 0 {
			t.Errorf("%s: out of order or twice: %v", c.name, c.violations)
		}
		if len(c.refusals) > 0 {
			t.Errorf("%s: refusals: %v", c.name, c.refusals)
		}
		if c.gaps > 0 {
			t.Errorf("%s: %d joins reported a gap", c.name, c.gaps)
		}
		want := streams[c.room]
		if len(c.got) < len(want) {
			missed += len(want) - len(c.got)
		}
		if len(c.got) != len(want) {
			t.Errorf("%s: received %d messages, the stream of %s has %d", c.name, len(c.got), c.room, len(want))
		} else {
			for i, e := range want {
				if g := c.got[i]; g.id != e.ID || g.ref != e.Ref || g.name != e.Name {
					t.Errorf("%s: message %d is %v, the stream has %v", c.name, i, g, e)
					break
				}
			}
		}
		total += len(c.got)
		c.mu.Unlock()
	}
	t.Logf("sent by %d clients: %d messages in %d rooms; %d deliveries; lost (said, not stored): %d; missed (stored, not received): %d",
		len(cl.clients), len(byRef), len(streams), total, lost, missed)
	if !t.Failed() {
		t.Log("exact: each client's sequence equals its room's stream, each message stored once under the ID it was acknowledged with")
	}
}

// spread returns the min, median and max of ds.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("%v, %v, %v", r(ds[0]), r(ds[len(ds)/2]), r(ds[len(ds)-1]))
}

// logFailures logs how many connection attempts failed so far, and why:
// what slows a reconnect down.
func (cl *cluster) logFailures() {
	why := map[string]int{}
	total := 0
	for _, c := range cl.clients {
		c.mu.Lock()
		for _, f := range c.failures {
			why[f]++
			total++
		}
		c.mu.Unlock()
	}
	if total == 0 {
		cl.t.Log("no connection attempt failed")
		return
	}
	cl.t.Logf("%d connection attempts failed:", total)
	for f, n := range why {
		cl.t.Logf("  %d× %s", n, f)
	}
}

// perNode counts the clients on each node now.
func (cl *cluster) perNode() map[string]int {
	counts := map[string]int{}
	for _, c := range cl.clients {
		if s := c.status(); s.node != "" && c.connected() {
			counts[s.node]++
		}
	}
	return counts
}

func (cl *cluster) clientsOn(node string) []*chatClient {
	var out []*chatClient
	for _, c := range cl.clients {
		if c.status().node == node {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	if len(out) == 0 {
		cl.t.Fatalf("no client on %s", node)
	}
	return out
}

func (cl *cluster) connects() int {
	total := 0
	for _, c := range cl.clients {
		total += c.status().connects // not the tally: it is per client here
	}
	return total
}
