package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
)

// acceptGUID is the fixed GUID of RFC 6455 section 1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

var errBadRequest = errors.New("not a WebSocket opening handshake")

// handshake reads the client's opening handshake from br and answers it on
// w. It checks what RFC 6455 section 4.2.1 requires and ignores the rest:
// origin, subprotocols and extensions are not negotiated.
func handshake(br *bufio.Reader, w io.Writer) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("GET ")) || !bytes.HasSuffix(line, []byte(" HTTP/1.1\r\n")) {
		return errBadRequest
	}

	// The key is copied out: the next ReadSlice overwrites the buffer.
	var key [24]byte
	var haveKey, upgrade, connection, version bool
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err // including a header line longer than the buffer
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return errBadRequest
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Upgrade")):
			upgrade = hasToken(value, "websocket")
		case bytes.EqualFold(name, []byte("Connection")):
			connection = hasToken(value, "upgrade")
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Version")):
			version = string(value) == "13"
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Key")):
			haveKey = len(value) == len(key)
			copy(key[:], value)
		}
	}
	if !haveKey || !upgrade || !connection || !version {
		io.WriteString(w, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
		return errBadRequest
	}

	const head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
	var resp [len(head) + 28 + 4]byte
	n := copy(resp[:], head)
	h := sha1.New()
	h.Write(key[:])
	io.WriteString(h, acceptGUID)
	var sum [sha1.Size]byte
	base64.StdEncoding.Encode(resp[n:], h.Sum(sum[:0]))
	copy(resp[n+28:], "\r\n\r\n")
	_, err = w.Write(resp[:])
	return err
}

// hasToken reports whether the comma-separated list v holds token,
// case-insensitively.
func hasToken(v []byte, token string) bool {
	for t := range bytes.SplitSeq(v, []byte(",")) {
		if bytes.EqualFold(bytes.TrimSpace(t), []byte(token)) {
			return true
		}
	}
	return false
}
