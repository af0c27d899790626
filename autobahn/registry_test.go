package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestCaseCatalogue pins the case list to Autobahn's: the same ids, in the
// same order, 517 in all (301 in sections 1-10, 90 in 12, 126 in 13).
func TestCaseCatalogue(t *testing.T) {
	all := allCases()
	if len(all) != 517 {
		t.Fatalf("%d cases, want 517", len(all))
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
		"12.1": 18, "12.2": 18, "12.3": 18, "12.4": 18, "12.5": 18,
		"13.1": 18, "13.2": 18, "13.3": 18, "13.4": 18, "13.5": 18, "13.6": 18, "13.7": 18,
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
		{list: "1*", n: 233}, // 1.x, 10.1.1, 12.x and 13.x, as in Autobahn
		{list: "12.*", n: 90},
		{list: "13.*", n: 126},
		{list: "13.7.1*", want: []string{"13.7.1", "13.7.10", "13.7.11", "13.7.12", "13.7.13", "13.7.14", "13.7.15", "13.7.16", "13.7.17", "13.7.18"}},
		{list: "", n: 517},
		{list: "*", n: 517},
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
	for _, bad := range []string{"8.1", "11.*", "12.6.1", "13.1.19", "1.1.9"} {
		if _, err := selectCases(all, bad); err == nil {
			t.Errorf("%q: no error for a list naming no case", bad)
		}
	}
}

// TestCompressionCatalogue checks the generated cases against Autobahn's
// tables: each series has the sizes of MSG_SIZES in order, 12.x one corpus
// each with the default offer, 13.x the JSON corpus with its own offers.
func TestCompressionCatalogue(t *testing.T) {
	byID := map[string]*Case{}
	for _, c := range allCases() {
		byID[c.ID] = c
	}
	for j, data := range compressionCorpora {
		for i := range compressionSizes {
			c := byID[fmt.Sprintf("12.%d.%d", j+1, i+1)]
			if c == nil || offerHeader(c.Offers) != offerHeader(compressionOffers[0]) || !strings.Contains(c.Description, data.desc) {
				t.Errorf("12.%d.%d: not the %s series with the default offer", j+1, i+1, data.name)
			}
		}
		if got := len(data.bytes()); got != data.size {
			t.Errorf("%s: %d octets, want %d", data.name, got, data.size)
		}
		if !data.binary {
			for i, b := range data.bytes() {
				if b >= 0x80 {
					t.Errorf("%s: text corpus has a non-ASCII octet at %d; a slice could split a code point", data.name, i)
					break
				}
			}
		}
	}
	for j, offers := range compressionOffers {
		for i, sz := range compressionSizes {
			id := fmt.Sprintf("13.%d.%d", j+1, i+1)
			c := byID[id]
			if c == nil || offerHeader(c.Offers) != offerHeader(offers) || c.Limit != sz.wait+defaultCaseLimit || !c.ReportTime {
				t.Errorf("%s: offers or limits differ from Autobahn's", id)
			}
		}
	}
	// Autobahn's sendOne wraps around the end of the data.
	ptr := jsonCorpus.size - 3
	got := jsonCorpus.slice(&ptr, 8)
	data := jsonCorpus.bytes()
	if want := append(append([]byte{}, data[len(data)-3:]...), data[:5]...); string(got) != string(want) || ptr != 5 {
		t.Errorf("wrapped slice %q (next %d), want %q (next 5)", got, ptr, want)
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
