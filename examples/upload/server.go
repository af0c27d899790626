package main

import (
	"embed"
	"encoding/json"
	"log"
	"net/http"
	"time"

	"github.com/wirekit/websocket"
	"github.com/wirekit/websocket/examples/internal/webapp"
)

//go:embed static
var staticFiles embed.FS

// defaultChunkSize is the largest binary message the server takes: big
// enough that per-message costs vanish, small enough that progress moves
// and a reader's buffer stays modest.
const defaultChunkSize = 256 << 10

// routes serves the page at /, its settings at /config.json, the stored
// files at /files (a list) and /files/{name} (each file), and uploads at
// /ws. It returns the WebSocket server to shut down with the HTTP one.
func routes(u *uploader) (http.Handler, *websocket.Server) {
	ws := websocket.Handler(u.serve)
	ws.Options = websocket.Options{
		// A chunk larger than announced is refused by the library
		// (1009) before any of it is buffered.
		ReadLimit:    int64(u.chunkSize),
		PingInterval: 20 * time.Second,
		PingTimeout:  10 * time.Second,
	}
	// Each upload holds a temporary file and a descriptor.
	ws.MaxConns = 64

	config, err := json.Marshal(map[string]int64{"maxSize": u.maxSize, "chunkSize": int64(u.chunkSize)})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	// The page, kept to its own scripts and styles.
	mux.Handle("GET /", webapp.Files(staticFiles, "static", nil))
	// The page asks for the limits first, so it can refuse a file that is
	// too large before spending time hashing it.
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(config)
	})
	mux.HandleFunc("GET /files", u.listFiles)
	mux.HandleFunc("GET /files/{name}", u.download)
	mux.Handle("GET /ws", ws)
	return mux, ws
}

// newUploader returns an uploader with the example's settings.
func newUploader(dir string, maxSize int64, logger *log.Logger) *uploader {
	return &uploader{
		store:        &store{dir: dir},
		maxSize:      maxSize,
		chunkSize:    defaultChunkSize,
		idle:         30 * time.Second,
		writeTimeout: 10 * time.Second,
		log:          logger,
	}
}
