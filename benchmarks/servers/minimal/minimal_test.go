package main

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func TestUnmaskMatchesDefinition(t *testing.T) {
	key := [4]byte{0xA1, 0xB2, 0xC3, 0xD4}
	for n := range 200 {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 31)
		}
		got := append([]byte(nil), p...)
		unmask(got, key)
		for i := range p {
			if want := p[i] ^ key[i%4]; got[i] != want {
				t.Fatalf("len %d: byte %d = %#x, want %#x", n, i, got[i], want)
			}
		}
	}
}

func TestHandshakeAnswersRFCExample(t *testing.T) {
	req := "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n" +
		"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"
	var out bytes.Buffer
	if err := handshake(bufio.NewReader(strings.NewReader(req)), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n") {
		t.Errorf("response lacks the RFC's accept key:\n%s", out.String())
	}
}

func TestHandshakeRejectsPlainHTTP(t *testing.T) {
	var out bytes.Buffer
	err := handshake(bufio.NewReader(strings.NewReader("GET / HTTP/1.1\r\nHost: x\r\n\r\n")), &out)
	if err == nil || !strings.HasPrefix(out.String(), "HTTP/1.1 400 ") {
		t.Errorf("got %v and %q, want an error and a 400", err, out.String())
	}
}
