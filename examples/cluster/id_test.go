package main

import "testing"

func TestParseID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want streamID
		ok   bool
	}{
		{"0", streamID{}, true},
		{"0-0", streamID{}, true},
		{"1700000000000-7", streamID{1700000000000, 7}, true},
		{"18446744073709551615-18446744073709551615", streamID{1<<64 - 1, 1<<64 - 1}, true},
		{"1700000000000", streamID{}, false},
		{"", streamID{}, false},
		{"-1", streamID{}, false},
		{"1-", streamID{}, false},
		{"1-2-3", streamID{}, false},
		{"$", streamID{}, false},
		{"+", streamID{}, false},
		{"18446744073709551616-0", streamID{}, false},
	} {
		got, err := parseID(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseID(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok && tc.in != "0" && got.String() != tc.in {
			t.Errorf("%q printed back as %q", tc.in, got.String())
		}
	}
}

// IDs order by number: a string comparison would put 10-0 before 9-0.
func TestIDOrder(t *testing.T) {
	ordered := []string{"0-0", "0-1", "9-0", "9-10", "10-0", "10-2", "100-0"}
	for i := range ordered {
		for j := range ordered {
			a, b := mustParseID(ordered[i]), mustParseID(ordered[j])
			if a.less(b) != (i < j) {
				t.Errorf("%s < %s is %v", a, b, a.less(b))
			}
		}
	}
	if maxID(mustParseID("9-0"), mustParseID("10-0")) != mustParseID("10-0") {
		t.Error("maxID")
	}
}
