package websocket

import (
	"slices"
	"testing"
)

// Rooms: a room exists while someone is in it; Move changes which room's
// messages reach a connection; an ended connection leaves every room.
func TestRooms(t *testing.T) {
	var rooms Rooms
	a := newConn(newRecordingTransport(), nil, "", &Options{PingInterval: -1})
	b := newConn(newRecordingTransport(), nil, "", &Options{PingInterval: -1})
	defer b.CloseNow()
	made := 0
	rooms.New = func(name string) *Broadcaster {
		made++
		return &Broadcaster{MaxBacklog: 4096}
	}
	rooms.Join("lobby", a)
	rooms.Join("lobby", b)
	rooms.Join("game", a)
	names := rooms.Names()
	slices.Sort(names)
	if !slices.Equal(names, []string{"game", "lobby"}) {
		t.Fatalf("rooms %q", names)
	}
	if made != 2 || rooms.Room("lobby").MaxBacklog != 4096 {
		t.Fatalf("New made %d rooms", made)
	}
	rooms.Move(b, "lobby", "game")
	if n := rooms.Room("lobby").Len(); n != 1 {
		t.Fatalf("lobby has %d members after the move", n)
	}
	if n := rooms.Room("game").Len(); n != 2 {
		t.Fatalf("game has %d members after the move", n)
	}
	a.CloseNow() // leaves lobby, which empties, and game
	if rooms.Room("lobby") != nil {
		t.Fatal("an empty room was kept")
	}
	if n := rooms.Room("game").Len(); n != 1 {
		t.Fatalf("game has %d members after one ended", n)
	}
	rooms.Leave("game", b)
	if len(rooms.Names()) != 0 {
		t.Fatalf("rooms left: %q", rooms.Names())
	}
	rooms.Join("lobby", a) // an ended connection joins nothing
	if len(rooms.Names()) != 0 {
		t.Fatalf("an ended connection made a room: %q", rooms.Names())
	}
}
