package wstest

import (
	"strings"
	"testing"
	"time"
)

// WaitFor sees what was written before it and after it began, and gives up
// when its time is up.
func TestBufferWaitFor(t *testing.T) {
	var b Buffer
	b.Write([]byte("first "))
	if !b.WaitFor(time.Second, func(s string) bool { return s == "first " }) {
		t.Fatal("WaitFor missed what was already written")
	}
	go b.Write([]byte("second"))
	if !b.WaitFor(DefaultTimeout, func(s string) bool { return strings.HasSuffix(s, "second") }) {
		t.Fatalf("WaitFor missed a later write: %q", b.String())
	}
	if b.WaitFor(time.Second, func(s string) bool { return false }) {
		t.Fatal("WaitFor reported a condition that never held")
	}
}
