package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strings"

	"github.com/wirekit/websocket"
	"github.com/wirekit/websocket/examples/internal/webapp"
)

//go:embed static
var staticFiles embed.FS

// maxBacklog is how many bytes may wait for one page before it is dropped
// as too slow (closed with 1013; the page reconnects and is sent the
// current tally). The tally is published under one key, so at most one
// waits at a time; what can pile up is notices (up to 2 KiB each) and a
// page's own refusals. 64 KiB is dozens of notices: a page that far behind
// has stopped reading.
const maxBacklog = 64 << 10

// config is what the command line sets.
type config struct {
	options    []string
	adminToken string // required by /notify when not empty
	maxConns   int    // WebSocket connections at once; 0 for no cap
	log        *log.Logger
}

// app is the live poll: its page, its WebSocket endpoint and /notify.
type app struct {
	poll      *poll
	bc        *websocket.Broadcaster
	ws        *websocket.Server
	tokenHash *[sha256.Size]byte // of the admin token; nil when there is none
	log       *log.Logger
	handler   http.Handler
}

// newApp returns the poll's application. The caller serves app.handler and
// shuts app.ws down along with its http.Server.
func newApp(cfg config) *app {
	a := &app{log: cfg.log}
	a.bc = &websocket.Broadcaster{
		MaxBacklog: maxBacklog,
		OnDrop: func(c *websocket.Conn, err error) {
			cfg.log.Printf("live: %s dropped: %v", c.RemoteAddr(), err)
		},
	}
	a.poll = newPoll(cfg.options, a.bc)
	if cfg.adminToken != "" {
		sum := sha256.Sum256([]byte(cfg.adminToken))
		a.tokenHash = &sum
	}

	a.ws = websocket.Handler(a.serve)
	a.ws.Options = websocket.Options{
		// Keepalive and the origin check keep their defaults: a tab that
		// vanished is dropped within 45 s, and only the poll's own page
		// (same origin) may connect.
		ReadLimit: readLimit,
		ErrorLog:  cfg.log,
	}
	a.ws.MaxConns = cfg.maxConns

	mux := http.NewServeMux()
	// The page, with headers that keep it to its own scripts and styles:
	// should text from the server ever reach the DOM as markup by mistake,
	// an injected script still would not run.
	mux.Handle("GET /", webapp.Files(staticFiles, "static", nil))
	mux.Handle("GET /ws", a.ws)
	mux.HandleFunc("POST /notify", a.notify)
	// Without this, GET /notify would be the file server's 404, which
	// hides that the path exists and wants a POST.
	mux.HandleFunc("GET /notify", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a notice's text here", http.StatusMethodNotAllowed)
	})
	a.handler = mux
	return a
}

// serve runs one page's connection: it sends the page the tally, then
// counts its votes until the connection ends. Reads happen here only; the
// Broadcaster writes from its own goroutines.
func (a *app) serve(c *websocket.Conn, r *http.Request) {
	a.poll.join(c)
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(context.Background(), buf[:0])
		if err != nil {
			if !ordinaryEnd(err) {
				a.log.Printf("live: %s: %v", r.RemoteAddr, err)
			}
			return // the connection left the Broadcaster by itself
		}
		buf = msg
		if typ != websocket.MessageText {
			c.Close(websocket.StatusUnsupportedData, "votes are JSON in text messages")
			return
		}
		// A bad vote is answered, not punished: a page left open across
		// a restart with other options sends votes for options that are
		// gone, and should be told so, not cut off.
		i, bad := decodeVote(msg, a.poll.index)
		if bad != nil {
			a.poll.refuse(c, bad)
			continue
		}
		a.poll.vote(i)
	}
}

// ordinaryEnd reports whether err is how connections usually end, which
// is not worth a log line: the page closed (1000, 1001 when a tab closes,
// 1005 for a bare close()), the server is shutting down, or the
// Broadcaster dropped it (OnDrop has logged that).
func ordinaryEnd(err error) bool {
	if errors.Is(err, websocket.ErrShutdown) || errors.Is(err, websocket.ErrSlowConsumer) {
		return true
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Local {
		return false
	}
	switch ce.Code {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatus:
		return true
	}
	return false
}

// notify sends the request's body, as text, to every page as a notice.
//
// When an admin token is set, the request must carry it as
// "Authorization: Bearer <token>": without credentials it is answered 401
// (with WWW-Authenticate saying how to give them), with a wrong token 403.
// Whether or not a token is set, a request that a browser sent from a page
// of another site is refused with 403 (see sameOrigin).
func (a *app) notify(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "notices cannot be posted from another site's page", http.StatusForbidden)
		return
	}
	if !a.authorized(w, r) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxNoticeBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("a notice is at most %d characters", maxNoticeRunes), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading the notice: "+err.Error(), http.StatusBadRequest)
		return
	}
	text, bad := checkNotice(body)
	if bad != nil {
		http.Error(w, bad.msg, bad.status)
		return
	}
	n := a.poll.notify(text)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	clients := "clients"
	if n == 1 {
		clients = "client"
	}
	fmt.Fprintf(w, "notice sent to %d %s\n", n, clients)
}

// authorized reports whether r may post a notice, and answers it if not.
func (a *app) authorized(w http.ResponseWriter, r *http.Request) bool {
	if a.tokenHash == nil {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="live"`)
		http.Error(w, "posting a notice needs the admin token: Authorization: Bearer <token>", http.StatusUnauthorized)
		return false
	}
	// Hashes are compared rather than the tokens, so that the comparison
	// takes the same time whatever was sent, its length included.
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(sum[:], a.tokenHash[:]) != 1 {
		http.Error(w, "wrong admin token", http.StatusForbidden)
		return false
	}
	return true
}

// sameOrigin reports whether r may have come from this server's own page
// or from outside a browser. A page of any site can make a browser post a
// form or a plain-text fetch to any address, this one included, without
// asking first; such requests carry the page's origin in Origin (and, in
// current browsers, Sec-Fetch-Site), and are refused. curl and scripts
// send neither. Without an admin token this is what keeps a web page a
// visitor has open from posting notices to a poll on their machine or
// network.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // "null", from a sandboxed page or a file
	}
	return strings.EqualFold(u.Host, r.Host)
}
