package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// summarize reads an index.json written by the official Autobahn suite (or
// by this one), prints the problem cases unless quiet, then the summary
// line, and reports whether every case passed. Verdicts are folded exactly
// as in a native run (overallVerdict).
func summarize(path string, out io.Writer, quiet bool) (tally, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return tally{}, err
	}
	var index map[string]map[string]indexEntry
	if err := json.Unmarshal(data, &index); err != nil {
		return tally{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(index) == 0 {
		return tally{}, fmt.Errorf("%s: no agent in report", path)
	}
	agents := make([]string, 0, len(index))
	for a := range index {
		agents = append(agents, a)
	}
	sort.Strings(agents)

	var all tally
	for _, agent := range agents {
		cases := index[agent]
		ids := make([]string, 0, len(cases))
		for id := range cases {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return lessID(ids[i], ids[j]) })
		var t tally
		for _, id := range ids {
			e := cases[id]
			v := overallVerdict(e.Behavior, e.BehaviorClose)
			t.add(v)
			all.add(v)
			if !quiet && !acceptable(v) {
				fmt.Fprintf(out, "%-8s %-13s behavior %s, close %s%s\n", id, v, e.Behavior, e.BehaviorClose, codeSuffix(e.RemoteCloseCode))
			}
		}
		if len(agents) > 1 {
			// One line per agent; the tool exits on the combined result.
			fmt.Fprintln(out, strings.Replace(t.String(), "autobahn:", "autobahn["+agent+"]:", 1))
		}
	}
	if len(agents) == 1 {
		fmt.Fprintln(out, all)
	}
	return all, nil
}

func codeSuffix(code *int) string {
	if code == nil {
		return ""
	}
	return fmt.Sprintf(" (%d)", *code)
}
