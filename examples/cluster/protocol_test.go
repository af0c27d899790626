package main

import (
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestChecks(t *testing.T) {
	for _, tc := range []struct {
		what  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"room", checkRoom, "lobby", true},
		{"room", checkRoom, "room-1_a", true},
		{"room", checkRoom, "", false},
		{"room", checkRoom, "Lobby", false},
		{"room", checkRoom, "a{b}", false}, // would change the Redis hash tag
		{"room", checkRoom, strings.Repeat("a", maxRoomLen+1), false},
		{"name", checkName, "Ada", true},
		{"name", checkName, strings.Repeat("é", maxNameRunes), true},
		{"name", checkName, strings.Repeat("é", maxNameRunes+1), false},
		{"name", checkName, " Ada", false},
		{"name", checkName, "A\u200bda", false}, // zero-width space
		{"name", checkName, "", false},
		{"text", checkText, "hello\nworld", true},
		{"text", checkText, "   ", false},
		{"text", checkText, "bell\a", false},
		{"text", checkText, strings.Repeat("x", maxTextRunes+1), false},
		{"ref", checkRef, "c1-17", true},
		{"ref", checkRef, "with space", false},
		{"ref", checkRef, "", false},
		{"ref", checkRef, "é", false},
	} {
		if err := tc.check(tc.in); (err == nil) != tc.ok {
			t.Errorf("%s %q: %v, want ok %v", tc.what, tc.in, err, tc.ok)
		}
	}
}

// A bad query is answered with a plain 400 that says why, before any
// handshake and without touching Redis.
func TestUpgradeRefusesBadQueries(t *testing.T) {
	n := newNode("n1", nil, log.New(new(strings.Builder), "", 0))
	for _, q := range []string{
		"",
		"room=lobby",
		"name=Ada",
		"room=Lobby&name=Ada",
		"room=lobby&name=%20Ada",
		"room=lobby&name=Ada&since=abc",
		"room=lobby&name=Ada&since=1700000000000",
		"room=lobby&name=Ada&since=1-2-3",
	} {
		r := httptest.NewRequest(http.MethodGet, "/ws?"+q, nil)
		r.Header.Set("Connection", "Upgrade")
		r.Header.Set("Upgrade", "websocket")
		w := httptest.NewRecorder()
		n.routes().ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest || w.Body.Len() == 0 {
			t.Errorf("%q: %d %q, want 400 with a reason", q, w.Code, w.Body.String())
		}
	}
}

func TestPage(t *testing.T) {
	n := newNode("n1", nil, log.New(new(strings.Builder), "", 0))
	for path, want := range map[string]int{"/": 200, "/favicon.ico": 404, "/index.html": 404} {
		w := httptest.NewRecorder()
		n.routes().ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != want {
			t.Errorf("GET %s: %d, want %d", path, w.Code, want)
		}
		if want == 200 && !strings.Contains(w.Body.String(), "since") {
			t.Errorf("GET %s: not the page that resumes by ID", path)
		}
	}
}
