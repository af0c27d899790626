package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

// fixed is the app's clock in tests, so two responses can be compared.
func fixed() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }

// serve runs h on a loopback port for the test.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	return wstest.Serve(t, h, nil)
}

type response struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, method, url string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Header.Del("Date") // the only header that may differ between two calls
	return response{resp.StatusCode, resp.Header, string(body)}
}

// modes builds each way of adding the endpoint around a fresh app.
var modes = []string{"wrap", "route"}

func start(t *testing.T, mode string) string {
	t.Helper()
	h, ws, err := build(mode, newApp(fixed))
	if err != nil {
		t.Fatal(err)
	}
	return wstest.Serve(t, h, ws)
}

// Ordinary requests get exactly what the app alone would answer.
func TestOrdinaryRoutesPassThrough(t *testing.T) {
	plain := serve(t, newApp(fixed))
	requests := []struct{ method, path string }{
		{"GET", "/"},
		{"HEAD", "/"},
		{"GET", "/api/time"},
		{"GET", "/healthz"},
		{"POST", "/healthz"}, // 405 from the mux, with its Allow header
		{"GET", "/missing"},  // 404
	}
	for _, mode := range modes {
		with := start(t, mode)
		for _, rq := range requests {
			t.Run(mode+" "+rq.method+" "+rq.path, func(t *testing.T) {
				want := get(t, rq.method, plain+rq.path)
				got := get(t, rq.method, with+rq.path)
				if got.status != want.status {
					t.Errorf("status %d, want %d", got.status, want.status)
				}
				if got.body != want.body {
					t.Errorf("body %q, want %q", got.body, want.body)
				}
				if !equalHeaders(got.header, want.header) {
					t.Errorf("headers\n%v\nwant\n%v", got.header, want.header)
				}
			})
		}
	}

	// And the app's answers are the ones it was written to give.
	if r := get(t, "GET", plain+"/api/time"); r.status != 200 || r.header.Get("Content-Type") != "application/json" ||
		strings.TrimSpace(r.body) != `{"time":"2025-06-01T12:00:00Z"}` {
		t.Errorf("/api/time = %+v", r)
	}
	if r := get(t, "GET", plain+"/healthz"); r.status != 200 || r.body != "ok\n" {
		t.Errorf("/healthz = %+v", r)
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// The endpoint pushes the time, at /ws in both modes.
func TestWebSocketEndpoint(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			url := "ws" + strings.TrimPrefix(start(t, mode), "http") + "/ws"
			c, err := wstest.Dial(context.Background(), url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			for range 2 { // the first at once, the next a tick later
				msg, err := c.ReadText()
				if err != nil {
					t.Fatal(err)
				}
				var r timeReply
				if err := json.Unmarshal([]byte(msg), &r); err != nil || time.Since(r.Time).Abs() > time.Minute {
					t.Fatalf("message %q: %v", msg, err)
				}
			}
			if err := c.Close(1000, ""); wstest.CloseCode(err) != 1000 {
				t.Fatalf("close: %v, want 1000 back", err)
			}
		})
	}
}

// The modes differ in where an upgrade is taken: Wrap takes it at any
// path, a route only at its own. A plain GET to the route is refused.
func TestWhereUpgradesGo(t *testing.T) {
	wrap := "ws" + strings.TrimPrefix(start(t, "wrap"), "http")
	c, err := wstest.Dial(context.Background(), wrap+"/api/time", nil)
	if err != nil {
		t.Fatalf("wrap: an upgrade at /api/time: %v", err)
	}
	c.CloseNow()

	route := start(t, "route")
	_, err = wstest.Dial(context.Background(), "ws"+strings.TrimPrefix(route, "http")+"/api/time", nil)
	var he *wstest.HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusOK {
		t.Fatalf("route: an upgrade at /api/time got %v; want the app's ordinary 200", err)
	}
	if r := get(t, "GET", route+"/ws"); r.status != http.StatusUpgradeRequired && r.status != http.StatusBadRequest {
		t.Fatalf("route: a plain GET /ws got %d, want 426 or 400", r.status)
	}
}

func TestUnknownMode(t *testing.T) {
	if _, _, err := build("both", newApp(fixed)); err == nil {
		t.Fatal("build accepted an unknown mode")
	}
}
