// Command xnet is an echo server built on golang.org/x/net/websocket.
//
// The package's own example, io.Copy(ws, ws), does not echo messages: it
// turns each Read into a frame of its own, splitting messages larger than
// the copy buffer and sending everything as text. The package's Codec is
// its documented way to receive and send whole messages, so this server
// uses one that keeps each message's type.
package main

import (
	"flag"
	"log"
	"net/http"

	"golang.org/x/net/websocket"
)

// maxMessage bounds what a client may send; the largest benchmark message
// is 1 MiB.
const maxMessage = 4 << 20

// message is a received message and its frame type (text or binary).
type message struct {
	payloadType byte
	data        []byte
}

// echoCodec moves whole messages in and out of a *message. The package's
// Message codec cannot echo faithfully: it decodes text and binary alike
// into whatever the destination is, so the type is lost.
var echoCodec = websocket.Codec{
	Marshal: func(v any) ([]byte, byte, error) {
		m := v.(*message)
		return m.data, m.payloadType, nil
	},
	Unmarshal: func(data []byte, payloadType byte, v any) error {
		m := v.(*message)
		m.data, m.payloadType = data, payloadType
		return nil
	},
}

func echo(ws *websocket.Conn) {
	// The package's server drops the TCP connection when the handler
	// returns, without a close frame; Close sends one first, completing
	// the closing handshake the client started.
	defer ws.Close()
	ws.MaxPayloadBytes = maxMessage
	var m message
	for {
		if err := echoCodec.Receive(ws, &m); err != nil {
			return // The peer closed, or broke the protocol.
		}
		if err := echoCodec.Send(ws, &m); err != nil {
			return
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen `host:port`")
	flag.Parse()
	// websocket.Server, unlike websocket.Handler, accepts clients that
	// send no Origin header, as non-browser clients such as the load
	// generator do.
	log.Fatal(http.ListenAndServe(*addr, websocket.Server{Handler: echo}))
}
