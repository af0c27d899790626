package harness

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/wsclient"
)

// endpointPaths are tried in order to find where a server accepts
// WebSocket connections. The servers in this module all answer on "/";
// the others are there for an example server that picks its own path.
var endpointPaths = []string{"/", "/echo", "/ws"}

// FindPath returns the first request path at which the server at addr
// completes an opening handshake.
func FindPath(addr string) (string, error) {
	var errs []error
	for _, path := range endpointPaths {
		err := tryHandshake(addr, path)
		if err == nil {
			return path, nil
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("no WebSocket endpoint at %s %q: %w", addr, endpointPaths, errors.Join(errs...))
}

func tryHandshake(addr, path string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return wsclient.Handshake(c, bufio.NewReader(c), addr, path)
}
