module github.com/wirekit/websocket/h2test

go 1.26.0

require (
	github.com/wirekit/websocket v0.0.0
	golang.org/x/net v0.62.0
)

require golang.org/x/text v0.43.0 // indirect

replace github.com/wirekit/websocket => ../
