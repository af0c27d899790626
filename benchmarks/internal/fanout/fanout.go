// Package fanout is what the fan-out servers and the load generator agree
// on: the routes every fan-out server offers, and the figures it reports
// about itself.
//
// A fan-out server takes subscribers on SubscribePath and one publisher on
// PublishPath. Every message the publisher sends, the server sends on to
// every subscriber, with that library's own broadcast facility, unchanged
// and in order. So the server's work in the scenario is the fan-out: it
// reads one message and writes it N times.
package fanout

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"
)

// The routes of a fan-out server.
const (
	SubscribePath = "/"
	PublishPath   = "/pub"
	// StatsPath answers a GET with Stats as JSON.
	StatsPath = "/stats"
	// ProfilePath is net/http/pprof's CPU profile, for
	// `go tool pprof http://ADDR/debug/pprof/profile?seconds=N`.
	ProfilePath = "/debug/pprof/profile"
)

// MaxMessage is the read limit the servers set where the library needs one
// (for the publisher; subscribers send nothing but control frames).
const MaxMessage = 64 << 10

// WriteTimeout bounds a write to one subscriber in the servers whose
// library or example asks the application for a bound (gorilla's and
// coder's examples); ours and gws have defaults of their own.
const WriteTimeout = 10 * time.Second

// Stats is a server's report on itself.
type Stats struct {
	// Members is how many subscribers the next message will go to.
	Members int `json:"members"`
	// Mallocs and AllocBytes are runtime.MemStats' Mallocs and
	// TotalAlloc: heap objects and bytes allocated since the start.
	Mallocs    uint64 `json:"mallocs"`
	AllocBytes uint64 `json:"alloc_bytes"`
	HeapInuse  uint64 `json:"heap_inuse"`
	Goroutines int    `json:"goroutines"`
	NumGC      uint32 `json:"num_gc"`
}

// Serve parses -addr, adds StatsPath and the pprof routes to mux, and
// serves it; it returns only on error. members reports the subscribers.
func Serve(mux *http.ServeMux, members func() int) {
	addr := flag.String("addr", "127.0.0.1:8080", "listen `host:port`")
	flag.Parse()
	mux.HandleFunc(StatsPath, func(w http.ResponseWriter, r *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s := Stats{
			Members:    members(),
			Mallocs:    ms.Mallocs,
			AllocBytes: ms.TotalAlloc,
			HeapInuse:  ms.HeapInuse,
			Goroutines: runtime.NumGoroutine(),
			NumGC:      ms.NumGC,
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s)
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc(ProfilePath, pprof.Profile)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
