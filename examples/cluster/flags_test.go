package main

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Flags whose values would quietly break the promises of README.md are
// refused at start, with a usage error (exit status 2), rather than
// served: -maxlen 0 made Redis trim each message as it was added
// (MAXLEN ~ 0), so none was ever delivered or kept, though every one was
// acknowledged; a negative one made every say fail; -dedup 0 would store
// a resent message twice.
func TestBadFlagsRefused(t *testing.T) {
	bin := nodeBinary(t, true)
	for _, tc := range []struct{ flag, value string }{
		{"-maxlen", "0"},
		{"-maxlen", "-5"},
		{"-dedup", "0s"},
		{"-dedup", "-1m"},
		{"-drain", "-1s"},
		{"-max-conns", "-1"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		// Port 0 and an address where no Redis answers: a node that
		// accepted the flags would start serving, and run until killed.
		out, err := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0", "-redis", "127.0.0.1:1", tc.flag, tc.value).CombinedOutput()
		cancel()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), tc.flag) {
			t.Errorf("%s %s: %v, output:\n%s\nwant exit status 2 and a message naming %s", tc.flag, tc.value, err, out, tc.flag)
		}
	}
}
