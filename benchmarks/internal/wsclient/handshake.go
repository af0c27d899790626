package wsclient

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/textproto"
	"strings"
)

// acceptGUID is the fixed GUID of RFC 6455 section 1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Handshake performs the client side of the opening handshake on rw and
// checks the server's answer, reading it through br (which must wrap the
// same connection, and keeps any bytes the server sent after the answer).
func Handshake(rw io.Writer, br *bufio.Reader, host, path string) error {
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])

	req := "GET " + path + " HTTP/1.1\r\n" +
		"Host: " + host + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(rw, req); err != nil {
		return fmt.Errorf("handshake: write request: %w", err)
	}

	tp := textproto.NewReader(br)
	status, err := tp.ReadLine()
	if err != nil {
		return fmt.Errorf("handshake: read status: %w", err)
	}
	if !strings.HasPrefix(status, "HTTP/1.1 101 ") && status != "HTTP/1.1 101" {
		return fmt.Errorf("handshake: %s %s: server answered %q", host, path, status)
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return fmt.Errorf("handshake: read headers: %w", err)
	}
	if !strings.EqualFold(h.Get("Upgrade"), "websocket") {
		return fmt.Errorf("handshake: Upgrade header is %q", h.Get("Upgrade"))
	}
	if !hasToken(h.Values("Connection"), "upgrade") {
		return fmt.Errorf("handshake: Connection header %q lacks upgrade", h.Values("Connection"))
	}
	if got, want := h.Get("Sec-WebSocket-Accept"), acceptKey(key); got != want {
		return fmt.Errorf("handshake: Sec-WebSocket-Accept is %q, want %q", got, want)
	}
	if ext := h.Get("Sec-WebSocket-Extensions"); ext != "" {
		// None was offered, so none may be in use (section 4.1).
		return fmt.Errorf("handshake: server chose unrequested extensions %q", ext)
	}
	return nil
}

func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// hasToken reports whether a comma-separated header list holds token,
// compared case-insensitively as HTTP requires.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
