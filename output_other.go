//go:build !unix

package websocket

// nowWriter is unix-only: elsewhere a Broadcaster always writes from a
// sender goroutine.
type nowWriter struct{}

func (c *Conn) nowWriter() *nowWriter { return nil }

func (w *nowWriter) try(p []byte) int { return 0 }
