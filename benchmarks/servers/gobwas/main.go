// Command gobwas is an echo server built on github.com/gobwas/ws, written
// as the high-level example in the library's README: upgrade through
// net/http, then wsutil.ReadClientData and wsutil.WriteServerMessage.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// maxMessage bounds what a client may send (wsutil has no limit by
// default); the largest benchmark message is 1 MiB.
const maxMessage = 4 << 20

func serve(w http.ResponseWriter, r *http.Request) {
	conn, _, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		return // UpgradeHTTP has already answered with an HTTP error.
	}
	go func() {
		defer conn.Close()
		for {
			// ReadClientData answers pings and close frames itself.
			msg, op, err := wsutil.ReadClientData(conn)
			if err != nil {
				return
			}
			if err := wsutil.WriteServerMessage(conn, op, msg); err != nil {
				return
			}
		}
	}()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen `host:port`")
	flag.Parse()
	wsutil.SetMaxMessageSize(maxMessage)
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(serve)))
}
