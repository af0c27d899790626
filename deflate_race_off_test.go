//go:build !race

package websocket

// dfRace reports that the tests run under the race detector, which slows
// the encoder's tests several times and makes sync.Pool drop items at
// random (so allocation counts mean nothing there).
const dfRace = false
