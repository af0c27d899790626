//go:build !race

package main

// raceEnabled reports that the tests run under the race detector, where the
// full suite (with its 16 MiB messages) is too slow to run.
const raceEnabled = false
