// Command gws is an echo server built on github.com/lxzan/gws, written as
// the library's README and echo example show: an Upgrader with an event
// handler whose OnMessage writes the message back, and a ReadLoop per
// connection. Compression and parallel processing stay off, their default.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/lxzan/gws"
)

// maxMessage bounds what a client may send; the largest benchmark message
// is 1 MiB.
const maxMessage = 4 << 20

type handler struct {
	gws.BuiltinEventHandler
}

func (handler) OnPing(socket *gws.Conn, payload []byte) {
	_ = socket.WritePong(payload)
}

func (handler) OnMessage(socket *gws.Conn, message *gws.Message) {
	defer message.Close() // returns the buffer to the library's pool
	_ = socket.WriteMessage(message.Opcode, message.Bytes())
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen `host:port`")
	flag.Parse()
	upgrader := gws.NewUpgrader(handler{}, &gws.ServerOption{
		ReadMaxPayloadSize: maxMessage,
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		socket, err := upgrader.Upgrade(w, r)
		if err != nil {
			return // Upgrade has already answered with an HTTP error.
		}
		// Per the README, run the loop in its own goroutine so the
		// hijacked request's resources can be collected.
		go socket.ReadLoop()
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
