// Command gorilla is an echo server built on github.com/gorilla/websocket,
// written as the library's own echo example is: a default Upgrader and a
// ReadMessage/WriteMessage loop. Only the example's per-message logging is
// left out, as it would dominate the measurement.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/gorilla/websocket"
)

// maxMessage bounds what a client may send; the largest benchmark message
// is 1 MiB.
const maxMessage = 4 << 20

var upgrader = websocket.Upgrader{} // default options

func echo(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has already answered with an HTTP error.
	}
	defer c.Close()
	c.SetReadLimit(maxMessage)
	for {
		mt, message, err := c.ReadMessage()
		if err != nil {
			return // The peer closed, or broke the protocol.
		}
		if err := c.WriteMessage(mt, message); err != nil {
			return
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen `host:port`")
	flag.Parse()
	http.HandleFunc("/", echo)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
