package main

import (
	"fmt"
	"strings"
)

// judge sets behavior and behaviorClose once the connection is gone. It is
// Autobahn's Case.onConnectionLost: the behaviour is the verdict of the
// first expected outcome equal to the received events (or what the case set
// itself), and the close is judged by these rules, first match wins:
//
//   - the wrong endpoint sent the first Close        FAILED
//   - a clean close was required and did not happen  UNCLEAN
//   - the peer's close code is not acceptable        WRONG CODE
//   - we, as the client, had to close TCP            FAILED BY CLIENT
//   - otherwise                                      OK
//
// The rules are the same in both roles (case.py's onConnectionLost),
// except FAILED BY CLIENT: in the server role closing TCP is the suite's
// own duty, so it says nothing about the client.
//
// A case can then adjust both in its Finish hook.
func (s *Session) judge() {
	for _, e := range s.expected {
		if sameEvents(s.received, e.events) {
			s.behavior = e.verdict
			s.result = "Actual events match at least one expected."
			break
		}
	}
	if !s.opened {
		s.behaviorClose = Failed
		s.resultClose = "The WebSocket opening handshake was never completed!"
	} else {
		ec := s.expectClose
		switch {
		case ec.ClosedByMe != s.closedByMe:
			s.behaviorClose = Failed
			s.resultClose = "The connection was failed by the wrong endpoint"
		case ec.RequireClean && !s.wasClean:
			s.behaviorClose = CloseUnclean
			s.resultClose = "The spec requires the connection to be failed cleanly here"
		case s.remoteCloseCode != nil && !containsInt(ec.CloseCode, *s.remoteCloseCode):
			s.behaviorClose = CloseWrongCode
			s.resultClose = "The close code should have been " + joinInts(ec.CloseCode) + " or empty"
		case s.droppedByMe && !s.server:
			s.behaviorClose = CloseFailedByClient
			s.resultClose = "It is preferred that the server close the TCP connection"
		default:
			s.behaviorClose = OK
			s.resultClose = "Connection was properly closed"
		}
		// A server that never noticed invalid UTF-8 lets the client close
		// first; for those cases that is a failure of the case itself.
		if ec.WrongEndpointFatal && ec.ClosedByMe != s.closedByMe {
			s.behavior = Failed
		}
	}
	if s.c.Finish != nil {
		s.c.Finish(s)
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func joinInts(list []int) string {
	parts := make([]string, len(list))
	for i, v := range list {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ",")
}

// wrongCodeFails is the Finish hook of the 7.x close cases: there a close
// code that is not acceptable fails the case, not only its close column.
func wrongCodeFails(s *Session) {
	if s.behaviorClose == CloseWrongCode {
		s.behavior = Failed
		s.result = s.resultClose
	}
}

// informational is the Finish hook of cases whose outcome the RFC leaves
// open: they are reported, never judged.
func informational(s *Session) {
	s.behavior = Informational
	s.behaviorClose = Informational
}
