package main

import (
	"embed"
	"log"
	"net/http"
	"regexp"
	"time"

	"github.com/wirekit/websocket"
	"github.com/wirekit/websocket/examples/internal/webapp"
)

//go:embed static
var staticFiles embed.FS

// Settings for a room of voices. The page records Opus at 64 kbit/s and
// hands over a chunk every 250 ms: about 2 KiB each, 8 KiB a second.
const (
	// maxChunk is the read limit: 32 times a usual chunk, room for a
	// browser that delivers late and in bulk, and small enough that a
	// page cannot make the server buffer much. A larger message is
	// refused (1009) before it is read.
	maxChunk = 64 << 10

	// A speaker may send 64 KiB a second on average, 8 times what the
	// page records (Opus tops out at 510 kbit/s), with a burst of 256 KiB.
	rate  = 64 << 10
	burst = 256 << 10

	// controlCost is what a control message takes from the same bucket,
	// whatever its length: a start or a stop is sent to everyone in the
	// room, so a page that sent them at full speed would flood every
	// listener. 1 KiB allows 64 a second, where a person sends two a talk.
	controlCost = 1 << 10

	// A talk lasts at most 4 MiB, about 8 minutes at 64 kbit/s; its
	// header, kept for late listeners, at most 16 KiB (Chromium's is
	// under 200 bytes).
	maxTalk   = 4 << 20
	maxHeader = 16 << 10

	// maxTalkTime ends a talk that lasts longer, however little it sent:
	// a page that took the floor and sent nothing, or a trickle, would
	// otherwise keep it for as long as its connection lasts. 10 minutes
	// is past the 8 that maxTalk takes at 64 kbit/s.
	maxTalkTime = 10 * time.Minute

	// maxBacklog is what may wait for one listener: 256 KiB is half a
	// minute of audio. A listener that far behind is dropped (1013); its
	// page reconnects and joins the talk at its next cluster.
	maxBacklog = 256 << 10

	// A vanished page is noticed within 2*pingInterval+pingTimeout.
	pingInterval = 20 * time.Second
	pingTimeout  = 10 * time.Second
)

// roomName is what a room may be called: short, and safe to show and to
// put in a URL as it is.
var roomName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// newServer returns the audio rooms' HTTP handler and the WebSocket server
// within it, which the caller shuts down along with its http.Server.
func newServer(logger *log.Logger) (http.Handler, *websocket.Server) {
	onDrop := func(c *websocket.Conn, err error) {
		logger.Printf("audio: %s: %v", c.RemoteAddr(), err)
	}
	return routes(&audio{
		hub: newHub(limits{
			maxChunk:    maxChunk,
			maxTalk:     maxTalk,
			maxTalkTime: maxTalkTime,
			maxHeader:   maxHeader,
			maxBacklog:  maxBacklog,
		}, onDrop),
		rate:         rate,
		burst:        burst,
		writeTimeout: 10 * time.Second,
		log:          logger,
	})
}

// routes serves the page at / and the rooms at /ws?room=NAME.
func routes(a *audio) (http.Handler, *websocket.Server) {
	ws := websocket.Handler(a.serve)
	ws.Options = websocket.Options{
		// No OriginPatterns: only pages served by this server may
		// connect, and so record into its rooms.
		ReadLimit:    int64(a.hub.limits.maxChunk),
		PingInterval: pingInterval,
		PingTimeout:  pingTimeout,
		// Refused handshakes (a foreign Origin, say) go to the app's log.
		ErrorLog: a.log,
	}
	ws.MaxConns = 500

	mux := http.NewServeMux()
	mux.Handle("GET /", webapp.Files(staticFiles, "static", pageHeaders))
	// The room is checked before the upgrade, so a bad name is an HTTP
	// 400 rather than a connection that opens only to close.
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		if !roomName.MatchString(r.URL.Query().Get("room")) {
			http.Error(w, "room: 1 to 32 lowercase letters, digits and hyphens, beginning with a letter or digit", http.StatusBadRequest)
			return
		}
		ws.ServeHTTP(w, r)
	})
	return mux, ws
}

// pageHeaders keep the page to its own scripts and styles; media may come
// from blob: URLs, which is how a MediaSource reaches the player, and the
// room form submits to the page itself. The page asks for the microphone;
// nothing else may.
var pageHeaders = http.Header{
	"Content-Security-Policy": {"default-src 'self'; media-src 'self' blob:; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
	"Permissions-Policy":      {"microphone=(self), camera=()"},
}
