// Package harness builds the servers under comparison, echo and fan-out,
// and runs them as separate processes, pinned and limited the same way, so
// that cmd/compare and the tests drive them identically.
package harness

// Role is a server's part in the comparison.
type Role int

const (
	// Ours is this repository's own example server.
	Ours Role = iota
	// Reference is the hand-written minimal server: a lower bound on cost,
	// not a competitor.
	Reference
	// Peer is another WebSocket library.
	Peer
)

// Server is an echo server the harness can build and run. Every one takes
// -addr host:port and echoes each message with its own type.
type Server struct {
	Name string
	Role Role
	// Module is the directory of the Go module that builds it, relative
	// to the benchmarks module; Package is the package within it.
	Module, Package string
}

// Servers lists every server, ours first, then the reference, then the
// peers.
var Servers = []Server{
	{Name: "ours", Role: Ours, Module: "..", Package: "./examples/echo"},
	{Name: "minimal", Role: Reference, Module: ".", Package: "./servers/minimal"},
	{Name: "gorilla", Role: Peer, Module: ".", Package: "./servers/gorilla"},
	{Name: "coder", Role: Peer, Module: ".", Package: "./servers/coder"},
	{Name: "gobwas", Role: Peer, Module: ".", Package: "./servers/gobwas"},
	{Name: "gws", Role: Peer, Module: ".", Package: "./servers/gws"},
	{Name: "xnet", Role: Peer, Module: ".", Package: "./servers/xnet"},
}

// Lookup returns the server called name.
func Lookup(name string) (Server, bool) {
	for _, s := range Servers {
		if s.Name == name {
			return s, true
		}
	}
	return Server{}, false
}

// FanoutServers lists the fan-out servers (see internal/fanout), ours
// first. Each is written with its library's own facility for sending one
// message to many; x/net/websocket has none and the minimal server is an
// echo only, so neither is here.
var FanoutServers = []Server{
	{Name: "ours", Role: Ours, Module: ".", Package: "./servers/fanout/ours"},
	{Name: "gorilla", Role: Peer, Module: ".", Package: "./servers/fanout/gorilla"},
	{Name: "coder", Role: Peer, Module: ".", Package: "./servers/fanout/coder"},
	{Name: "gobwas", Role: Peer, Module: ".", Package: "./servers/fanout/gobwas"},
	{Name: "gws", Role: Peer, Module: ".", Package: "./servers/fanout/gws"},
}

// LookupFanout returns the fan-out server called name.
func LookupFanout(name string) (Server, bool) {
	for _, s := range FanoutServers {
		if s.Name == name {
			return s, true
		}
	}
	return Server{}, false
}
