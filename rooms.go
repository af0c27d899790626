package websocket

import "sync"

// Rooms holds a Broadcaster per name (a chat room, a topic, a game), made
// when the first connection joins and forgotten when the last one leaves,
// so a server with many short-lived rooms holds only the ones in use. A
// connection may be in any number of rooms; one whose connection ends
// leaves them all by itself.
//
// The zero Rooms is ready to use. Its methods are safe to call from any
// goroutine.
type Rooms struct {
	// New, if set, makes the Broadcaster for a new room, to set its
	// MaxBacklog, WriteTimeout or OnDrop. It must return a new, unused
	// Broadcaster. Nil means the zero Broadcaster.
	New func(name string) *Broadcaster

	mu    sync.Mutex
	rooms map[string]*Broadcaster
}

// Join adds c to the room called name, making the room if it is new.
func (r *Rooms) Join(name string, c *Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.rooms[name]
	if b == nil {
		if r.New != nil {
			b = r.New(name)
		} else {
			b = new(Broadcaster)
		}
		b.onEmpty = func() { r.forget(name, b) }
		if r.rooms == nil {
			r.rooms = make(map[string]*Broadcaster)
		}
		r.rooms[name] = b
	}
	b.Add(c)
	if b.Len() == 0 {
		delete(r.rooms, name) // c had ended: Add did nothing
	}
}

// Leave removes c from the room called name. It does not close c.
func (r *Rooms) Leave(name string, c *Conn) {
	if b := r.Room(name); b != nil {
		b.Remove(c)
	}
}

// Move moves c from the room called from to the room called to: messages
// sent to to after Move returns reach it, those sent to from do not.
func (r *Rooms) Move(c *Conn, from, to string) {
	r.Join(to, c)
	r.Leave(from, c)
}

// Room returns the Broadcaster of the room called name, or nil if no one is
// in it. Use it to send to the room (Broadcast, Publish, Send) and to read
// its Stats.
func (r *Rooms) Room(name string) *Broadcaster {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rooms[name]
}

// Broadcast sends data as a message of type typ to everyone in the room
// called name, and returns how many it was queued for (0 when no one is
// in the room).
func (r *Rooms) Broadcast(name string, typ MessageType, data []byte) int {
	if b := r.Room(name); b != nil {
		return b.Broadcast(typ, data)
	}
	return 0
}

// Publish sends data under key to everyone in the room called name, as
// Broadcaster.Publish does, and returns how many it was queued for. A room
// no one is in remembers nothing: it does not exist.
func (r *Rooms) Publish(name, key string, typ MessageType, data []byte) int {
	if b := r.Room(name); b != nil {
		return b.Publish(key, typ, data)
	}
	return 0
}

// Names returns the names of the rooms that have someone in them, in no
// particular order.
func (r *Rooms) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.rooms))
	for name := range r.rooms {
		names = append(names, name)
	}
	return names
}

// forget drops the room called name once b, its Broadcaster, is empty,
// unless someone joined meanwhile.
func (r *Rooms) forget(name string, b *Broadcaster) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rooms[name] == b && b.Len() == 0 {
		delete(r.rooms, name)
	}
}
