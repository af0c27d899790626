package main

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"time"
)

// compressionSize is one row of Autobahn's MSG_SIZES: count messages of
// size octets, sent one at a time (each after the echo of the one before),
// in frames of fragment octets of compressed payload (0: one frame), all
// within wait.
type compressionSize struct {
	size, count, fragment int
	wait                  time.Duration
}

// compressionSizes are the 18 cases of every 12.x and 13.x series.
var compressionSizes = []compressionSize{
	{16, 1000, 0, 60 * time.Second},
	{64, 1000, 0, 60 * time.Second},
	{256, 1000, 0, 120 * time.Second},
	{1024, 1000, 0, 240 * time.Second},
	{4096, 1000, 0, 480 * time.Second},
	{8192, 1000, 0, 480 * time.Second},
	{16384, 1000, 0, 480 * time.Second},
	{32768, 1000, 0, 480 * time.Second},
	{65536, 1000, 0, 480 * time.Second},
	{131072, 1000, 0, 480 * time.Second},

	{8192, 1000, 256, 480 * time.Second},
	{16384, 1000, 256, 480 * time.Second},
	{32768, 1000, 256, 480 * time.Second},
	{65536, 1000, 256, 480 * time.Second},
	{131072, 1000, 256, 480 * time.Second},
	{131072, 1000, 1024, 480 * time.Second},
	{131072, 1000, 4096, 480 * time.Second},
	{131072, 1000, 32768, 480 * time.Second},
}

// compressionOffers are the offers of 13.1-13.7. 12.x all make the first.
// Autobahn describes them as (requestNoContextTakeover,
// requestMaxWindowBits) pairs; every offer also carries
// client_no_context_takeover and client_max_window_bits.
var compressionOffers = [][]deflateOffer{
	{{}},
	{{peerNoContextTakeover: true}},
	{{peerMaxWindowBits: 9}},
	{{peerMaxWindowBits: 15}},
	{{peerNoContextTakeover: true, peerMaxWindowBits: 9}},
	{{peerNoContextTakeover: true, peerMaxWindowBits: 15}},
	{{peerNoContextTakeover: true, peerMaxWindowBits: 9}, {peerNoContextTakeover: true}, {}},
}

// Sections 12 and 13: permessage-deflate. 12.1-12.5 send each corpus with
// the default offer; 13.1-13.7 send the JSON corpus under each offer.
func compressionCases() []*Case {
	var cases []*Case
	for j, data := range compressionCorpora {
		for i, size := range compressionSizes {
			cases = append(cases, compressionCase(fmt.Sprintf("12.%d.%d", j+1, i+1), data, size, compressionOffers[0]))
		}
	}
	for j, offers := range compressionOffers {
		for i, size := range compressionSizes {
			cases = append(cases, compressionCase(fmt.Sprintf("13.%d.%d", j+1, i+1), jsonCorpus, size, offers))
		}
	}
	return cases
}

// compressionCase is Autobahn's generated 12.x.x/13.x.x case: if no
// permessage-deflate is agreed (the server declines our offers, or, in the
// server role, the client made no offer the case accepts) the case is
// UNIMPLEMENTED and we close at once; otherwise the messages go out one by one, compressed, and each echo
// must equal what was sent.
func compressionCase(id string, data *corpus, sz compressionSize, offers []deflateOffer) *Case {
	kind := "text"
	if data.binary {
		kind = "binary"
	}
	frames := "one frame each"
	if sz.fragment > 0 {
		frames = fmt.Sprintf("frames of %d octets of compressed payload", sz.fragment)
	}
	return &Case{
		ID: id,
		Description: fmt.Sprintf("%d compressed %s messages of %d octets from %q (%d octets), in %s, each sent when the previous one is echoed. Offer: %s.",
			sz.count, kind, sz.size, data.desc, data.size, frames, offerHeader(offers)),
		Expectation: fmt.Sprintf("Every message is echoed as sent, all within %v; clean close with 1000. UNIMPLEMENTED if permessage-deflate is not agreed.", sz.wait),
		ReportTime:  true,
		Limit:       sz.wait + defaultCaseLimit,
		Offers:      offers,
		Start: func(s *Session) {
			s.ExpectClose(normalClose)
			if !s.Compressed() {
				if s.server {
					s.SetOutcome(Unimplemented, "The client made no permessage-deflate offer the case accepts.")
				} else {
					s.SetOutcome(Unimplemented, "The server accepted none of the permessage-deflate offers.")
				}
				s.Close(1000, nil)
				return
			}
			s.SetOutcome(Failed, fmt.Sprintf("Case did not finish within %v.", sz.wait))
			s.CloseAfter(sz.wait)
			ptr, sent := 0, 0
			var want []byte
			sendOne := func() {
				want = data.slice(&ptr, sz.size)
				s.SendMessage(want, data.binary, sz.fragment)
				sent++
			}
			s.OnMessage(func(p []byte, binary bool) {
				switch {
				case binary != data.binary:
					s.SetOutcome(Failed, fmt.Sprintf("Echo %d has another type (binary %v, sent binary %v).", sent, binary, data.binary))
				case len(p) != len(want):
					s.SetOutcome(Failed, fmt.Sprintf("Echo %d has %d octets, sent %d.", sent, len(p), len(want)))
				case !bytes.Equal(p, want):
					s.SetOutcome(Failed, fmt.Sprintf("Echo %d differs from what was sent (SHA-1 %x, sent %x).", sent, sha1.Sum(p), sha1.Sum(want)))
				case sent < sz.count:
					sendOne()
					return
				default:
					s.SetOutcome(OK, fmt.Sprintf("All %d echoes received in time.", sz.count))
				}
				s.Close(1000, nil)
			})
			sendOne()
		},
	}
}
