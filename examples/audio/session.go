package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"mime"
	"net/http"
	"time"

	"github.com/wirekit/websocket"
)

// audio serves the rooms' WebSocket endpoint.
type audio struct {
	hub *hub
	// rate and burst bound, in bytes, how fast a speaker may send: burst
	// at once, then rate a second. A talk is recorded in real time, so a
	// page that sends faster is not relaying a recording.
	rate, burst float64
	// writeTimeout bounds a reply written to one page.
	writeTimeout time.Duration
	log          *log.Logger
}

// serve runs one page's connection: it joins the room named in the URL,
// then acts on the page's control messages and relays its audio while it
// holds the floor, until the connection ends. Reads happen here only; the
// room's Broadcaster writes to the page from its own goroutines.
func (a *audio) serve(c *websocket.Conn, r *http.Request) {
	name := r.URL.Query().Get("room") // checked by routes before the upgrade
	rm := a.hub.join(name, c)
	defer a.hub.leave(rm, c)

	var (
		buf []byte
		lim = newLimiter(a.burst, a.rate)
		// discarding: the room ended this page's talk (its limits),
		// and audio it sent before it heard is dropped until it stops.
		discarding bool
	)
	for {
		typ, msg, err := c.ReadMessage(context.Background(), buf[:0])
		if err != nil {
			if !ordinaryEnd(err) {
				a.log.Printf("audio: %s: %v", r.RemoteAddr, err)
			}
			return
		}
		buf = msg // reused: the room copies what it keeps

		if typ == websocket.MessageBinary {
			if !lim.allow(len(msg), time.Now()) {
				a.end(c, fail(codeTooFast, "Audio is arriving faster than anyone talks."))
				return
			}
			switch err := rm.relay(c, msg); {
			case err == nil:
			case errors.Is(err, errNotSpeaker) && discarding:
			case errors.Is(err, errNotSpeaker):
				a.end(c, fail(codeBadRequest, "Send start, and wait for talk, before sending audio."))
				return
			case errors.Is(err, errTalkLimit):
				discarding = true
				if a.reply(c, fail(codeTalkLimit, "Your talk reached its limit (%d bytes or %v), and has ended.", a.hub.limits.maxTalk, a.hub.limits.maxTalkTime)) != nil {
					return
				}
			default: // errNotWebM
				a.end(c, fail(codeNotWebM, "The room relays WebM audio, and this is not: %v.", err))
				return
			}
			continue
		}

		if !lim.allow(max(len(msg), controlCost), time.Now()) {
			a.end(c, fail(codeTooFast, "Control messages are arriving faster than anyone presses Talk."))
			return
		}
		var in inbound
		if err := json.Unmarshal(msg, &in); err != nil {
			if a.reply(c, fail(codeBadRequest, "Control messages are JSON objects.")) != nil {
				return
			}
			continue
		}
		var bad *failure
		switch in.Type {
		case typeStart:
			if bad = checkMime(in.Mime); bad == nil {
				bad = rm.start(c)
			}
		case typeStop:
			rm.stop(c)
			discarding = false
		default:
			bad = fail(codeBadRequest, "Unknown message type %q.", in.Type)
		}
		if bad != nil && a.reply(c, bad) != nil {
			return
		}
	}
}

// checkMime accepts the one stream type the room relays, however its
// parameters are spelled.
func checkMime(s string) *failure {
	typ, params, err := mime.ParseMediaType(s)
	if err != nil || typ != "audio/webm" || len(params) != 1 || params["codecs"] != "opus" {
		return fail(codeUnsupported, "This room relays %s only; record in that.", supportedMime)
	}
	return nil
}

// reply writes v as JSON to the page, bypassing the room: a refusal for
// this page alone, whose order among the room's messages does not matter.
func (a *audio) reply(c *websocket.Conn, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.writeTimeout)
	defer cancel()
	return c.WriteJSON(ctx, v)
}

// end tells the page why, then closes the connection: it broke the
// protocol, and what it sends next cannot be trusted to mean anything.
func (a *audio) end(c *websocket.Conn, f *failure) {
	if a.reply(c, f) == nil {
		c.Close(websocket.StatusPolicyViolation, f.Message)
	}
}

// ordinaryEnd reports whether err is how a page's connection usually
// ends, which is no news for the log: the page closed with 1000, left with
// 1001 (a reload, a closed tab) or closed without a status (1005, which is
// what a browser's close() sends), or this server shut down; a listener
// dropped for falling behind was logged by the room's OnDrop. Anything
// else, a connection cut without a Close or a page that broke the
// protocol, is worth a line.
func ordinaryEnd(err error) bool {
	if errors.Is(err, websocket.ErrSlowConsumer) {
		return true
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		return false
	}
	if ce.Local {
		return errors.Is(err, websocket.ErrShutdown)
	}
	switch ce.Code {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatus:
		return true
	}
	return false
}

// limiter is a token bucket of bytes: it allows burst at once and refills
// at rate a second. One belongs to each connection's read loop, so it
// needs no lock.
type limiter struct {
	tokens, burst, rate float64
	last                time.Time
}

func newLimiter(burst, rate float64) *limiter {
	return &limiter{tokens: burst, burst: burst, rate: rate}
}

// allow reports whether n bytes arriving at now may pass, and takes them
// from the bucket if so.
func (l *limiter) allow(n int, now time.Time) bool {
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	if l.tokens < float64(n) {
		return false
	}
	l.tokens -= float64(n)
	return true
}
