module github.com/wirekit/websocket/benchmarks

go 1.26.0

require (
	// Ours is built from the root module (../examples/echo); the require
	// and replace keep the two modules' versions tied.
	github.com/wirekit/websocket v0.0.0
	github.com/coder/websocket v1.8.15
	github.com/gobwas/ws v1.5.0
	github.com/gorilla/websocket v1.5.3
	github.com/lxzan/gws v1.8.9
	golang.org/x/net v0.62.0
)

require (
	github.com/dolthub/maphash v0.1.0 // indirect
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/klauspost/compress v1.17.9 // indirect
)

replace github.com/wirekit/websocket => ../
