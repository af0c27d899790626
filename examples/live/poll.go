package main

import (
	"sync"

	"github.com/wirekit/websocket"
)

// A poll counts votes for a fixed list of options and keeps every
// connected page's tally current.
//
// Votes are only counted where they arrive; a publisher, a goroutine that
// runs only while counts have changed, takes a snapshot, encodes it once
// and publishes it under tallyKey. Votes that arrive while it publishes
// go out together in its next snapshot, so a storm of votes costs one
// publication per round of the publisher rather than one per vote: the
// work of a publication grows with the number of pages, and per vote it
// would grow with votes times pages. The Broadcaster then does the rest:
// a page that is behind gets only the newest tally (Publish), a page too
// far behind is dropped, and no page ever waits for another.
type poll struct {
	options []string
	index   map[string]int // option → its index in options
	bc      *websocket.Broadcaster

	mu         sync.Mutex
	counts     []int64 // by index in options
	votes      int64   // the sum of counts
	dirty      bool    // the counts changed since the last snapshot
	publishing bool    // a publisher is running
}

// newPoll returns a poll of options, with no votes, that sends to its
// members through bc.
func newPoll(options []string, bc *websocket.Broadcaster) *poll {
	p := &poll{
		options: options,
		index:   make(map[string]int, len(options)),
		bc:      bc,
		counts:  make([]int64, len(options)),
	}
	for i, o := range options {
		p.index[o] = i
	}
	// The empty tally, so that the first pages get one: the Broadcaster
	// remembers the newest value of each key and sends it to every member
	// that joins, before anything else.
	p.bc.Publish(tallyKey, websocket.MessageText, encode(p.takeLocked()))
	return p
}

// join makes c a member. The Broadcaster sends it the newest tally at
// once (see newPoll), under the tally's key, so a newer one published
// before it goes out replaces it: a page never ends on a stale tally.
func (p *poll) join(c *websocket.Conn) {
	p.bc.Add(c)
}

// vote counts a vote for the option at index i and makes sure a publisher
// will send it.
func (p *poll) vote(i int) {
	p.mu.Lock()
	p.counts[i]++
	p.votes++
	p.dirty = true
	start := !p.publishing
	p.publishing = true
	p.mu.Unlock()
	if start {
		go p.publish()
	}
}

// publish sends snapshots of the counts until nothing has changed since
// the last one. Only one runs at a time (see publishing), so tallies are
// published in the order they were taken and "votes" never goes down.
func (p *poll) publish() {
	for {
		p.mu.Lock()
		if !p.dirty {
			p.publishing = false
			p.mu.Unlock()
			return
		}
		msg := p.takeLocked()
		p.mu.Unlock()
		// Encoded and framed once, outside the lock, for every page.
		// Only this goroutine publishes, so tallies go out in order.
		p.bc.PublishPrepared(tallyKey, websocket.NewPreparedMessage(websocket.MessageText, encode(msg)))
	}
}

// takeLocked returns the counts as they are now and marks them published.
// The caller holds p.mu.
func (p *poll) takeLocked() tallyMsg {
	msg := tallyMsg{Tally: make(map[string]int64, len(p.options)), Votes: p.votes, Options: p.options}
	for i, o := range p.options {
		msg.Tally[o] = p.counts[i]
	}
	p.dirty = false
	return msg
}

// tally returns the counts by option and their sum.
func (p *poll) tally() (map[string]int64, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := make(map[string]int64, len(p.options))
	for i, o := range p.options {
		t[o] = p.counts[i]
	}
	return t, p.votes
}

// notify sends text as a notice to every member and returns how many
// there are. Notices are broadcast, not published: each one must arrive.
func (p *poll) notify(text string) int {
	return p.bc.Broadcast(websocket.MessageText, encode(noticeMsg{Notice: text}))
}

// refuse sends a refusal to c alone. It goes through the Broadcaster, in
// order with everything else c is sent, so the read loop never waits on a
// write; a page that keeps sending bad votes without reading the answers
// falls behind and is dropped like any other.
func (p *poll) refuse(c *websocket.Conn, e *errorMsg) {
	p.bc.Send(c, websocket.NewPreparedMessage(websocket.MessageText, encode(e)))
}
