package main

import (
	"strings"
	"testing"
)

// TestCaseCatalogue pins the case list to Autobahn's: the same ids, in the
// same order, 301 in all.
func TestCaseCatalogue(t *testing.T) {
	all := allCases()
	if len(all) != 301 {
		t.Fatalf("%d cases, want 301", len(all))
	}
	perSubsection := map[string]int{}
	seen := map[string]bool{}
	for i, c := range all {
		if seen[c.ID] {
			t.Errorf("duplicate case %s", c.ID)
		}
		seen[c.ID] = true
		if i > 0 && !lessID(all[i-1].ID, c.ID) {
			t.Errorf("case %s follows %s", c.ID, all[i-1].ID)
		}
		if c.Description == "" || c.Expectation == "" || c.Start == nil {
			t.Errorf("case %s is incomplete", c.ID)
		}
		parts := strings.Split(c.ID, ".")
		key := parts[0]
		if len(parts) == 3 {
			key += "." + parts[1]
		}
		perSubsection[key]++
	}
	want := map[string]int{
		"1.1": 8, "1.2": 8, "2": 11, "3": 7, "4.1": 5, "4.2": 5, "5": 20,
		"6.1": 3, "6.2": 4, "6.3": 2, "6.4": 4, "6.5": 5, "6.6": 11, "6.7": 4, "6.8": 2, "6.9": 4,
		"6.10": 3, "6.11": 5, "6.12": 8, "6.13": 5, "6.14": 10, "6.15": 1, "6.16": 3, "6.17": 5,
		"6.18": 5, "6.19": 5, "6.20": 7, "6.21": 8, "6.22": 34, "6.23": 7,
		"7.1": 6, "7.3": 6, "7.5": 1, "7.7": 13, "7.9": 9, "7.13": 2,
		"9.1": 6, "9.2": 6, "9.3": 9, "9.4": 9, "9.5": 6, "9.6": 6, "9.7": 6, "9.8": 6,
		"10.1": 1,
	}
	for k, n := range want {
		if perSubsection[k] != n {
			t.Errorf("subsection %s: %d cases, want %d", k, perSubsection[k], n)
		}
	}
	for k := range perSubsection {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected subsection %s", k)
		}
	}
}

func TestSelectCases(t *testing.T) {
	all := allCases()
	for _, tc := range []struct {
		list string
		want []string // nil: check count only
		n    int
	}{
		{list: "6.4.*", want: []string{"6.4.1", "6.4.2", "6.4.3", "6.4.4"}},
		{list: "2.1", want: []string{"2.1"}},                                 // no prefix matching without "*"
		{list: "7.13.*, 1.1.1", want: []string{"1.1.1", "7.13.1", "7.13.2"}}, // in suite order
		{list: "1*", n: 17}, // 1.x and 10.1.1, as in Autobahn
		{list: "", n: 301},
		{list: "*", n: 301},
	} {
		got, err := selectCases(all, tc.list)
		if err != nil {
			t.Errorf("%q: %v", tc.list, err)
			continue
		}
		var ids []string
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		if tc.want != nil && strings.Join(ids, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%q selects %v, want %v", tc.list, ids, tc.want)
		}
		if tc.want == nil && len(ids) != tc.n {
			t.Errorf("%q selects %d cases, want %d", tc.list, len(ids), tc.n)
		}
	}
	for _, bad := range []string{"8.1", "12.*", "1.1.9"} {
		if _, err := selectCases(all, bad); err == nil {
			t.Errorf("%q: no error for a list naming no case", bad)
		}
	}
}

// TestUTF8Vectors checks the vector table against the standard library's
// idea of valid UTF-8, so a typo in a vector cannot flip a case's meaning.
func TestUTF8Vectors(t *testing.T) {
	for g, group := range utf8Groups() {
		for v, vec := range group.vectors {
			if validUTF8([]byte(vec.payload)) != vec.valid {
				t.Errorf("6.%d.%d (%s): %x marked valid=%v", g+5, v+1, group.title, vec.payload, vec.valid)
			}
		}
	}
}
