//go:build !unix

package websocket

const rawReadSupported = false

func (in *input) rawRead(fd uintptr) bool { panic("unreachable") }
