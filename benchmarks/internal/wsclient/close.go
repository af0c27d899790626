package wsclient

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"
)

// Close runs the client side of the closing handshake (RFC 6455 section
// 7.1): send a 1000 close frame, wait for the server's close frame, then
// wait for the server to drop the TCP connection before closing our end.
// Letting the server close first leaves TIME_WAIT on the server's side,
// which keeps the client's ephemeral ports free during handshake storms.
func Close(conn net.Conn, br *bufio.Reader, timeout time.Duration) error {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))

	var code [2]byte
	binary.BigEndian.PutUint16(code[:], 1000)
	if _, err := conn.Write(AppendFrame(nil, OpClose, code[:], rand.Uint32())); err != nil {
		return fmt.Errorf("close: write: %w", err)
	}
	r := NewReader(br)
	_, _, err := r.ReadMessage(0)
	var ce *CloseError
	if !errors.As(err, &ce) {
		if err == nil {
			err = errors.New("data message")
		}
		return fmt.Errorf("close: waiting for the server's close frame: %w", err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return fmt.Errorf("close: server kept the connection open after its close frame (%v)", err)
	}
	return nil
}
