package websocket

// socketState is what keepalive can learn from the kernel about a socket
// without reading from it or writing to it (see keepalive).
type socketState struct {
	// inq and outq are the bytes in the receive queue, not yet read, and
	// in the send queue, not yet acknowledged by the peer.
	inq, outq int
	// received and acked count every byte the kernel has received on the
	// connection and every byte of ours the peer has acknowledged, when
	// the kernel keeps such counts (Linux's TCP_INFO); counted is false
	// otherwise.
	received, acked uint64
	counted         bool
}
