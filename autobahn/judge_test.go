package main

import (
	"testing"
)

func TestOverallVerdict(t *testing.T) {
	for _, tc := range []struct{ behavior, close, want string }{
		{OK, OK, OK},
		{OK, CloseFailedByClient, OK},
		{OK, CloseWrongCode, NonStrict},
		{OK, CloseUnclean, Failed},
		{OK, Failed, Failed},
		{NonStrict, OK, NonStrict},
		{NonStrict, CloseWrongCode, NonStrict},
		{Failed, OK, Failed},
		{Informational, Informational, Informational},
		{Unimplemented, Failed, Unimplemented},
		{"NO_CLOSE", OK, Failed},
	} {
		if got := overallVerdict(tc.behavior, tc.close); got != tc.want {
			t.Errorf("overallVerdict(%s, %s) = %s, want %s", tc.behavior, tc.close, got, tc.want)
		}
	}
}

// TestJudgeClose walks Autobahn's close rules on hand-made end states.
func TestJudgeClose(t *testing.T) {
	code := func(c int) *int { return &c }
	normal := closeExpectation{ClosedByMe: true, CloseCode: []int{1000}, RequireClean: true}
	serverFails := closeExpectation{ClosedByMe: false, CloseCode: []int{1007}, WrongEndpointFatal: true}
	for _, tc := range []struct {
		name         string
		expect       closeExpectation
		setup        func(s *Session)
		wantBehavior string
		wantClose    string
	}{
		{"clean", normal, func(s *Session) {
			s.closedByMe, s.wasClean, s.remoteCloseCode = true, true, code(1000)
		}, OK, OK},
		{"server never answered", normal, func(s *Session) {
			s.closedByMe, s.droppedByMe = true, true
		}, OK, CloseUnclean},
		{"server kept TCP open", closeExpectation{ClosedByMe: true, CloseCode: []int{1002}}, func(s *Session) {
			s.closedByMe, s.wasClean, s.droppedByMe, s.remoteCloseCode = true, true, true, code(1002)
		}, OK, CloseFailedByClient},
		{"wrong code", normal, func(s *Session) {
			s.closedByMe, s.wasClean, s.remoteCloseCode = true, true, code(1001)
		}, OK, CloseWrongCode},
		{"wrong endpoint", normal, func(s *Session) {
			s.wasClean, s.remoteCloseCode = true, code(1000)
		}, OK, Failed},
		{"wrong endpoint is fatal", serverFails, func(s *Session) {
			s.closedByMe, s.wasClean, s.remoteCloseCode = true, true, code(1000)
		}, Failed, Failed},
		{"never opened", normal, func(s *Session) { s.opened = false }, Failed, Failed},
	} {
		s := newSession(&Case{ID: "x"})
		s.opened = true
		s.expectClose = tc.expect
		s.Expect(OK)
		tc.setup(s)
		s.judge()
		if s.opened && (s.behavior != tc.wantBehavior || s.behaviorClose != tc.wantClose) {
			t.Errorf("%s: behavior %s close %s, want %s %s", tc.name, s.behavior, s.behaviorClose, tc.wantBehavior, tc.wantClose)
		}
		if !s.opened && s.behaviorClose != tc.wantClose {
			t.Errorf("%s: close %s, want %s", tc.name, s.behaviorClose, tc.wantClose)
		}
	}
}

func TestWrongCodeFailsCloseCases(t *testing.T) {
	s := newSession(&Case{ID: "7.7.1", Finish: wrongCodeFails})
	s.opened = true
	s.expectClose = closeExpectation{ClosedByMe: true, CloseCode: []int{1000}, RequireClean: true}
	s.Expect(OK)
	code := 1002
	s.closedByMe, s.wasClean, s.remoteCloseCode = true, true, &code
	s.judge()
	if s.behavior != Failed || s.behaviorClose != CloseWrongCode {
		t.Errorf("behavior %s close %s, want FAILED and WRONG CODE", s.behavior, s.behaviorClose)
	}
}
