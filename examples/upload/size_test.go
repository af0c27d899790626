package main

import "testing"

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want byteSize
	}{
		{"0", 0},
		{"4096", 4096},
		{"512B", 512},
		{"1KiB", 1 << 10},
		{"100MiB", 100 << 20},
		{"100mib", 100 << 20},
		{"1.5GiB", 3 << 29},
		{"2GB", 2e9},
		{"10 kB", 10e3},
	} {
		got, err := parseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "ten", "1PiB2", "NaN", "1e30GiB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	for _, tc := range []struct {
		in   byteSize
		want string
	}{
		{0, "0B"},
		{1000, "1000B"},
		{1 << 10, "1KiB"},
		{100 << 20, "100MiB"},
		{3 << 29, "1536MiB"},
		{1 << 40, "1TiB"},
	} {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("byteSize(%d).String() = %q, want %q", int64(tc.in), got, tc.want)
		}
		// What String prints, Set reads back.
		var back byteSize
		if err := back.Set(tc.in.String()); err != nil || back != tc.in {
			t.Errorf("Set(%q) = %d, %v; want %d", tc.in.String(), back, err, tc.in)
		}
	}
}
