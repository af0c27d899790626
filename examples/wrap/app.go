package main

import (
	"encoding/json"
	"html/template"
	"net/http"
	"time"
)

// newApp is the application as it was before it had a WebSocket: an
// ordinary ServeMux with a page, a JSON API and a health check. Nothing in
// it knows about WebSocket; main.go adds the endpoint from outside.
//
// now is the clock, so tests can fix the time.
func newApp(now func() time.Time) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page.Execute(w, now().UTC().Format(time.RFC1123))
	})
	mux.HandleFunc("GET /api/time", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, timeReply{Time: now().UTC()})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	return mux
}

// timeReply is the body of /api/time, and of each message on the
// WebSocket, so a client can switch from polling to push without parsing
// anything new.
type timeReply struct {
	Time time.Time `json:"time"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>An existing app</title></head>
<body>
<h1>An existing app</h1>
<p>Rendered at {{.}}.</p>
<ul>
  <li><a href="/api/time">/api/time</a>: the time, as JSON</li>
  <li><a href="/healthz">/healthz</a>: a health check</li>
</ul>
</body>
</html>
`))
