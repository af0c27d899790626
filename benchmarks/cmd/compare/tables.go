package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/wirekit/websocket/benchmarks/internal/harness"
	"github.com/wirekit/websocket/benchmarks/loadgen"
)

// metric is one table: a figure taken from each result.
type metric struct {
	title   string
	higher  bool // higher is better
	applies func(scenario) bool
	value   func(*loadgen.Result) float64
}

var metrics = []metric{
	{
		title:   "Server CPU per operation (µs; an operation is one echo, or one connection lifetime in the handshake row)",
		applies: func(s scenario) bool { return s.mode != loadgen.Idle },
		value:   func(r *loadgen.Result) float64 { return r.ServerCPUPerOp },
	},
	{
		title:   "Throughput (messages/s; connections/s in the handshake row)",
		higher:  true,
		applies: func(s scenario) bool { return s.mode != loadgen.Idle },
		value:   func(r *loadgen.Result) float64 { return r.OpsPerSec },
	},
	{
		title:   "Round-trip latency p50 (µs)",
		applies: func(s scenario) bool { return s.mode == loadgen.PingPong },
		value:   func(r *loadgen.Result) float64 { return r.P50 },
	},
	{
		title:   "Round-trip latency p99 (µs)",
		applies: func(s scenario) bool { return s.mode == loadgen.PingPong },
		value:   func(r *loadgen.Result) float64 { return r.P99 },
	},
	{
		title:   "Server RSS per idle connection (KiB)",
		applies: func(s scenario) bool { return s.mode == loadgen.Idle },
		value:   func(r *loadgen.Result) float64 { return r.RSSPerConn / 1024 },
	},
}

// print writes one markdown table per metric: a row per scenario, a column
// per server (the median over rounds), then ours against the best peer and
// against the minimal reference.
func (r *report) print(w io.Writer, scens []scenario, cands []candidate) {
	fmt.Fprintf(w, "\n%s: %d CPUs (%s), Linux %s, %s. Pinning: %s; GOMAXPROCS=1 for both. Each cell is the median of %d round(s).\n",
		r.Started.Format("2006-01-02"), r.Machine.CPUs, r.Machine.Model, r.Machine.Kernel, r.Machine.Go, r.Pinning, r.Settings.Rounds)
	for _, m := range metrics {
		var rows []scenario
		for _, s := range scens {
			if m.applies(s) && r.ran(s) {
				rows = append(rows, s)
			}
		}
		if len(rows) == 0 {
			continue
		}
		better := "lower is better"
		if m.higher {
			better = "higher is better"
		}
		fmt.Fprintf(w, "\n### %s — %s\n\n", m.title, better)
		header := []string{"scenario"}
		for _, c := range cands {
			header = append(header, c.Name)
		}
		header = append(header, "ours / best peer", "ours / minimal")
		writeRow(w, header)
		writeRow(w, slices.Repeat([]string{"---"}, len(header)))
		for _, s := range rows {
			writeRow(w, r.row(m, s, cands))
		}
	}
	r.printNotes(w)
}

func (r *report) row(m metric, s scenario, cands []candidate) []string {
	cells := []string{s.label()}
	vals := map[string]float64{}
	for _, c := range cands {
		cl := r.cell(s, c.Name, m.value)
		switch {
		case cl.failed:
			cells = append(cells, "FAIL")
		case !cl.ok:
			cells = append(cells, "–")
		default:
			vals[c.Name] = cl.median
			text := format(cl.median)
			if cl.disturbed {
				text += "*"
			}
			cells = append(cells, text)
		}
	}
	ours, haveOurs := vals["ours"]
	bestName, best := "", 0.0
	for _, c := range cands {
		v, ok := vals[c.Name]
		if c.Role != harness.Peer || !ok {
			continue
		}
		if bestName == "" || (m.higher && v > best) || (!m.higher && v < best) {
			bestName, best = c.Name, v
		}
	}
	ratio := func(den float64, ok bool, name string) string {
		if !haveOurs || !ok || den == 0 {
			return "–"
		}
		s := fmt.Sprintf("%.2f×", ours/den)
		if name != "" {
			s += " (" + name + ")"
		}
		return s
	}
	minimal, haveMinimal := vals["minimal"]
	return append(cells, ratio(best, bestName != "", bestName), ratio(minimal, haveMinimal, ""))
}

// cell is one server's figure for one scenario.
type cell struct {
	median    float64 // over the rounds
	ok        bool    // some round measured it
	failed    bool    // some round failed
	disturbed bool    // other processes competed in some round
}

func (r *report) cell(s scenario, server string, value func(*loadgen.Result) float64) cell {
	var c cell
	var xs []float64
	for _, rec := range r.Runs {
		if rec.Scenario != s.key || rec.Server != server {
			continue
		}
		if rec.Error != "" {
			c.failed = true
			continue
		}
		c.disturbed = c.disturbed || rec.disturbed()
		xs = append(xs, value(rec.Result))
	}
	if c.failed || len(xs) == 0 {
		return c
	}
	slices.Sort(xs)
	c.ok = true
	if n := len(xs); n%2 == 0 {
		c.median = (xs[n/2-1] + xs[n/2]) / 2
	} else {
		c.median = xs[n/2]
	}
	return c
}

func (r *report) ran(s scenario) bool {
	return slices.ContainsFunc(r.Runs, func(rec record) bool { return rec.Scenario == s.key })
}

// printNotes lists what a reader needs to judge the tables: skipped
// servers and scenarios, failures, and the precision of the CPU figures.
func (r *report) printNotes(w io.Writer) {
	var notes []string
	for _, name := range slices.Sorted(maps.Keys(r.Skipped)) {
		notes = append(notes, fmt.Sprintf("%s was skipped: %s", name, firstLine(r.Skipped[name])))
	}
	notes = append(notes, r.Notes...)
	var fewest *record
	disturbed, worst := 0, 0.0
	for i, rec := range r.Runs {
		if rec.disturbed() {
			disturbed++
			worst = max(worst, rec.Result.OtherLoad)
		}
		if rec.Error != "" {
			notes = append(notes, fmt.Sprintf("FAIL %s, %s, round %d: %s", rec.Scenario, rec.Server, rec.Round, rec.Error))
			continue
		}
		if rec.Result.Mode != loadgen.Idle && (fewest == nil || rec.Result.ServerTicks < fewest.Result.ServerTicks) {
			fewest = &r.Runs[i]
		}
	}
	if disturbed > 0 {
		notes = append(notes, fmt.Sprintf("* %d of %d measurements ran while other processes kept more than %.2f CPUs busy (up to %.2f), even after retries (at most %d each, %s in all): cells marked * are unreliable.",
			disturbed, len(r.Runs), disturbedLoad, worst, r.Settings.Retries, r.Settings.RetryBudget))
	}
	if fewest != nil {
		t := fewest.Result.ServerTicks
		notes = append(notes, fmt.Sprintf("Server CPU is counted in 10 ms ticks; the smallest count behind a CPU figure was %d ticks (%s, %s, round %d), a rounding error of at most %.1f%%.",
			t, fewest.Scenario, fewest.Server, fewest.Round, 100/float64(max(t, 1))))
	}
	if len(notes) == 0 {
		return
	}
	fmt.Fprintln(w, "\nNotes:")
	for _, n := range notes {
		fmt.Fprintln(w, "- "+n)
	}
}

func writeRow(w io.Writer, cells []string) {
	fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
}

// format prints v to about three significant digits.
func format(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
