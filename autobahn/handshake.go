package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// openHandshakeTimeout bounds dialing plus the HTTP upgrade, like the
// openHandshakeTimeout option of Autobahn's client factory.
const openHandshakeTimeout = 5 * time.Second

// websocketGUID is the fixed GUID of RFC 6455 section 1.3.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// userAgent identifies this suite in the server's logs.
const userAgent = "wirekit-autobahn/1.0 (Go re-implementation of Autobahn fuzzingclient)"

// opened is a WebSocket connection after a successful opening handshake.
type opened struct {
	conn   net.Conn
	r      *bufio.Reader // may already hold frames that followed the response
	server string        // the Server response header, used as default agent
	// extensions holds the Sec-WebSocket-Extensions values of the response,
	// checked against the offer by negotiate.
	extensions []string
}

// dialWebSocket connects to target and performs the client opening
// handshake of RFC 6455 section 4.1, verifying Sec-WebSocket-Accept.
// extensions, when not empty, is sent as Sec-WebSocket-Extensions.
func dialWebSocket(ctx context.Context, target *url.URL, extensions string) (*opened, error) {
	ctx, cancel := context.WithTimeout(ctx, openHandshakeTimeout*timeScale)
	defer cancel()

	host := target.Host
	if target.Port() == "" {
		if target.Scheme == "wss" {
			host = net.JoinHostPort(target.Hostname(), "443")
		} else {
			host = net.JoinHostPort(target.Hostname(), "80")
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if target.Scheme == "wss" {
		tc := tls.Client(conn, &tls.Config{ServerName: target.Hostname()})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	o, err := upgrade(conn, target, extensions)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return o, nil
}

func upgrade(conn net.Conn, target *url.URL, extensions string) (*opened, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	key := base64.StdEncoding.EncodeToString(raw[:])

	path := target.RequestURI()
	req := &http.Request{Method: http.MethodGet, URL: target}
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\n", path)
	fmt.Fprintf(&b, "Host: %s\r\n", target.Host)
	b.WriteString("Upgrade: websocket\r\n")
	b.WriteString("Connection: Upgrade\r\n")
	fmt.Fprintf(&b, "Sec-WebSocket-Key: %s\r\n", key)
	b.WriteString("Sec-WebSocket-Version: 13\r\n")
	if extensions != "" {
		fmt.Fprintf(&b, "Sec-WebSocket-Extensions: %s\r\n", extensions)
	}
	fmt.Fprintf(&b, "User-Agent: %s\r\n\r\n", userAgent)
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return nil, err
	}

	r := bufio.NewReaderSize(conn, 64<<10)
	resp, err := http.ReadResponse(r, req)
	if err != nil {
		return nil, fmt.Errorf("reading handshake response: %w", err)
	}
	resp.Body.Close() // a 101 response has no body; nothing is consumed
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("handshake: status %q, want 101", resp.Status)
	}
	if !headerHasToken(resp.Header, "Upgrade", "websocket") {
		return nil, fmt.Errorf("handshake: Upgrade header %q lacks websocket", resp.Header.Get("Upgrade"))
	}
	if !headerHasToken(resp.Header, "Connection", "upgrade") {
		return nil, fmt.Errorf("handshake: Connection header %q lacks upgrade", resp.Header.Get("Connection"))
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(key); got != want {
		return nil, fmt.Errorf("handshake: Sec-WebSocket-Accept %q, want %q", got, want)
	}
	return &opened{conn: conn, r: r, server: resp.Header.Get("Server"),
		extensions: resp.Header.Values("Sec-WebSocket-Extensions")}, nil
}

// acceptKey computes Sec-WebSocket-Accept for a Sec-WebSocket-Key.
func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// headerHasToken reports whether any value of the comma-separated header
// name contains token, compared case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
