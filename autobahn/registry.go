package main

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// allCases returns every case of sections 1-7, 9, 10, 12 and 13 in
// Autobahn's order: 517 cases.
func allCases() []*Case {
	var cases []*Case
	for _, section := range [][]*Case{
		framingCases(),
		pingCases(),
		reservedBitCases(),
		reservedOpcodeCases(),
		fragmentationCases(),
		utf8Cases(),
		closeCases(),
		performanceCases(),
		autoFragmentCases(),
		compressionCases(),
	} {
		cases = append(cases, section...)
	}
	sortCases(cases)
	return cases
}

// sortCases orders cases by their numeric id tuple (so 6.10.1 follows
// 6.9.4), as Autobahn does.
func sortCases(cases []*Case) {
	sort.SliceStable(cases, func(i, j int) bool {
		return lessID(cases[i].ID, cases[j].ID)
	})
}

func lessID(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, _ := strconv.Atoi(pa[i])
		nb, _ := strconv.Atoi(pb[i])
		if na != nb {
			return na < nb
		}
	}
	return len(pa) < len(pb)
}

// selectCases resolves a comma-separated list of case ids and patterns.
// As in Autobahn, "*" matches any text and a pattern only has to match the
// start of an id: "6.4.*" selects 6.4.1-6.4.4 and "1*" selects 1.x and 10.x.
// An entry without "*" must name an existing case.
func selectCases(all []*Case, list string) ([]*Case, error) {
	if strings.TrimSpace(list) == "" {
		return all, nil
	}
	chosen := map[string]bool{}
	for _, entry := range strings.Split(list, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if !strings.Contains(entry, "*") {
			if !hasCase(all, entry) {
				return nil, fmt.Errorf("no case %q", entry)
			}
			chosen[entry] = true
			continue
		}
		re, err := regexp.Compile("^" + strings.ReplaceAll(regexp.QuoteMeta(entry), `\*`, ".*"))
		if err != nil {
			return nil, err
		}
		matched := false
		for _, c := range all {
			if re.MatchString(c.ID) {
				chosen[c.ID] = true
				matched = true
			}
		}
		if !matched {
			return nil, fmt.Errorf("pattern %q matches no case", entry)
		}
	}
	var out []*Case
	for _, c := range all {
		if chosen[c.ID] {
			out = append(out, c)
		}
	}
	return out, nil
}

func hasCase(all []*Case, id string) bool {
	for _, c := range all {
		if c.ID == id {
			return true
		}
	}
	return false
}
