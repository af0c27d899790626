module github.com/wirekit/websocket

go 1.24
