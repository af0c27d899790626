package procfs

import (
	"os"
	"testing"
)

func TestReadsOwnProcess(t *testing.T) {
	ticks, err := CPUTicks(os.Getpid())
	if err != nil || ticks < 0 {
		t.Fatalf("CPUTicks = %d, %v", ticks, err)
	}
	all, err := MachineTicks()
	if err != nil || all < ticks {
		t.Fatalf("MachineTicks = %d, %v; want at least this process's %d", all, err, ticks)
	}
	rss, err := RSSBytes(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Fatalf("RSSBytes = %d, %v; a Go test binary has more than 1 MiB resident", rss, err)
	}
}

func TestIOCountsOwnWrites(t *testing.T) {
	before, err := ReadIO(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(t.TempDir(), "io")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range 5 {
		if _, err := f.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	after, err := ReadIO(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// The runtime may write too (an eventfd), never less.
	if d := after.SyscW - before.SyscW; d < 5 {
		t.Errorf("five writes moved syscw by %d", d)
	}
	if d := after.WChar - before.WChar; d < 5 {
		t.Errorf("five one-byte writes moved wchar by %d", d)
	}
}
