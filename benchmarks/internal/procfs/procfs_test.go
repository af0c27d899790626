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
