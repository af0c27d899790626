// Package procfs reads the two per-process figures the harness compares:
// CPU time consumed and resident memory. Both come straight from Linux's
// /proc so they cover every thread of the process (runtime, GC and kernel
// time spent on the process's behalf) without instrumenting the server.
package procfs

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// TicksPerSecond is USER_HZ, the unit of utime and stime in /proc/PID/stat.
// It is fixed at 100 on every Linux architecture Go supports, and the
// standard library offers no sysconf(_SC_CLK_TCK) to ask for it.
const TicksPerSecond = 100

// CPUTicks returns utime+stime of process pid, in ticks of 1/TicksPerSecond.
func CPUTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may itself contain
	// spaces or parentheses, so count fields from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("procfs: malformed stat for pid %d", pid)
	}
	// After ")" come fields 3 (state) onwards; utime and stime are
	// fields 14 and 15, i.e. the 12th and 13th after the parenthesis.
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("procfs: short stat for pid %d", pid)
	}
	utime, err := strconv.ParseInt(string(f[11]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("procfs: utime: %w", err)
	}
	stime, err := strconv.ParseInt(string(f[12]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("procfs: stime: %w", err)
	}
	return utime + stime, nil
}

// RSSBytes returns the resident set size (VmRSS) of process pid.
func RSSBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		// The line reads "VmRSS:    12345 kB".
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("procfs: unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procfs: VmRSS: %w", err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("procfs: no VmRSS for pid %d", pid)
}

// MachineTicks returns the CPU time all processes on the machine have
// spent in user and system mode (the user, nice and system columns of the
// first line of /proc/stat), in ticks. Interrupt and softirq time, which
// the kernel charges to no process, is left out.
func MachineTicks() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 4 || string(f[0]) != "cpu" {
		return 0, fmt.Errorf("procfs: unexpected /proc/stat line %q", line)
	}
	var sum int64
	for _, v := range f[1:4] {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procfs: /proc/stat: %w", err)
		}
		sum += n
	}
	return sum, nil
}

// IO is a process's I/O counters from /proc/PID/io. Every thread counts,
// the ones that have exited included.
type IO struct {
	// SyscR and SyscW count read and write system calls: read, readv and
	// pread, write, writev and pwrite, on any file, socket or eventfd.
	// send and recv calls are not counted; Go's net package uses write,
	// writev and read for TCP, so for a Go server SyscW is its socket
	// writes, plus the runtime's occasional eventfd write to wake its
	// network poller.
	SyscR, SyscW int64
	// RChar and WChar are the bytes those calls moved.
	RChar, WChar int64
}

// ReadIO returns process pid's I/O counters. Reading another user's
// process needs privilege.
func ReadIO(pid int) (IO, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return IO{}, err
	}
	var io IO
	fields := map[string]*int64{"syscr": &io.SyscR, "syscw": &io.SyscW, "rchar": &io.RChar, "wchar": &io.WChar}
	seen := 0
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		p := fields[string(k)]
		if p == nil {
			continue
		}
		if *p, err = strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64); err != nil {
			return IO{}, fmt.Errorf("procfs: io %s: %w", k, err)
		}
		seen++
	}
	if seen != len(fields) {
		return IO{}, fmt.Errorf("procfs: /proc/%d/io lacks some of syscr, syscw, rchar, wchar", pid)
	}
	return io, nil
}
