//go:build !unix

package websocket

const rawReadSupported = false

func (c *Conn) rawRead(fd uintptr) bool { panic("unreachable") }
