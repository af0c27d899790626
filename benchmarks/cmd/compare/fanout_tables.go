package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/wirekit/websocket/benchmarks/internal/harness"
	"github.com/wirekit/websocket/benchmarks/loadgen"
)

// fanoutMetric is one fan-out table: a figure taken from each step.
type fanoutMetric struct {
	title  string
	unit   string // appended to the title
	higher bool   // higher is better
	ratio  bool   // add an "ours / best peer" column
	value  func(loadgen.FanoutStep) (float64, bool)
}

var fanoutMetrics = []fanoutMetric{
	{
		title:  "Deliveries per second achieved",
		unit:   "messages received by all subscribers per second, in the step's window",
		higher: true,
		value:  func(s loadgen.FanoutStep) (float64, bool) { return s.DeliveriesPerSec, true },
	},
	{
		title: "Server CPU per delivery",
		unit:  "µs",
		ratio: true,
		value: func(s loadgen.FanoutStep) (float64, bool) {
			return s.ServerCPUPerDelivery, s.CostDeliveries > 0 && s.ServerTicks > 0
		},
	},
	{
		title:  "Deliveries per server CPU-second",
		unit:   "thousands",
		higher: true,
		ratio:  true,
		value: func(s loadgen.FanoutStep) (float64, bool) {
			if s.CostDeliveries == 0 || s.ServerTicks == 0 {
				return 0, false
			}
			return 1e3 / s.ServerCPUPerDelivery, true
		},
	},
	{
		title: "Server write system calls per delivery",
		unit:  "syscw from /proc/PID/io",
		ratio: true,
		value: func(s loadgen.FanoutStep) (float64, bool) { return s.WritesPerDelivery, s.CostDeliveries > 0 },
	},
	{
		title: "Server heap allocations per delivery",
		unit:  "runtime.MemStats.Mallocs",
		ratio: true,
		value: func(s loadgen.FanoutStep) (float64, bool) { return s.AllocsPerDelivery, s.AllocsPerDelivery >= 0 },
	},
	{
		title: "Server bytes allocated per delivery",
		unit:  "B",
		value: func(s loadgen.FanoutStep) (float64, bool) {
			return s.AllocBytesPerDelivery, s.AllocBytesPerDelivery >= 0
		},
	},
	{
		title: "Delivery latency p50",
		unit:  "ms, publisher's write to subscriber's read, messages of the step",
		ratio: true,
		value: func(s loadgen.FanoutStep) (float64, bool) { return s.P50 / 1e3, s.Received > 0 },
	},
	{
		title: "Delivery latency p99",
		unit:  "ms",
		ratio: true,
		value: func(s loadgen.FanoutStep) (float64, bool) { return s.P99 / 1e3, s.Received > 0 },
	},
}

// printFanout writes the fan-out tables: one per metric, a row per rate
// and a column per server, each cell the median over rounds with the
// range; then the outcomes, a summary per server, and notes.
func (r *report) printFanout(w io.Writer, cands []candidate) {
	fs := r.Fanout
	fmt.Fprintf(w, "\n%s: %d CPUs (%s), Linux %s, %s. Pinning: %s; GOMAXPROCS=1 for both.\n",
		r.Started.Format("2006-01-02"), r.Machine.CPUs, r.Machine.Model, r.Machine.Kernel, r.Machine.Go, r.Pinning)
	fmt.Fprintf(w, "Fan-out: %d subscribers, %d-byte messages, each rate for %s, up to %s to catch up after each; %d round(s). Cells: median over rounds [lowest–highest].\n",
		fs.Subscribers, fs.Size, fs.Step, fs.CatchUp, r.Settings.Rounds)

	for _, m := range fanoutMetrics {
		better := "lower is better"
		if m.higher {
			better = "higher is better"
		}
		fmt.Fprintf(w, "\n### %s (%s) — %s\n\n", m.title, m.unit, better)
		header := []string{"rate (msg/s)"}
		if m.title == fanoutMetrics[0].title {
			header = append(header, "offered")
		}
		for _, c := range cands {
			header = append(header, c.Name)
		}
		if m.ratio {
			header = append(header, "ours / best peer")
		}
		writeRow(w, header)
		writeRow(w, slices.Repeat([]string{"---"}, len(header)))
		for _, rate := range fs.Rates {
			cells := []string{fmtRate(rate)}
			if m.title == fanoutMetrics[0].title {
				cells = append(cells, fmtNum(rate*float64(fs.Subscribers)))
			}
			vals := map[string]float64{}
			for _, c := range cands {
				cl := r.fanoutCell(c.Name, rate, m.value)
				cells = append(cells, cl.text)
				if cl.ok {
					vals[c.Name] = cl.median
				}
			}
			if m.ratio {
				cells = append(cells, oursOverBest(vals, cands, m.higher))
			}
			writeRow(w, cells)
		}
	}
	r.printFanoutLoad(w, cands)
	r.printFanoutOutcomes(w, cands)
	r.printFanoutSummary(w, cands)
	r.printFanoutNotes(w)
}

// fanoutCell is one server's figure at one rate over the rounds.
type fanoutCellValue struct {
	text   string
	median float64
	ok     bool
}

func (r *report) fanoutCell(server string, rate float64, value func(loadgen.FanoutStep) (float64, bool)) fanoutCellValue {
	rounds, failed := r.fanoutSteps(server)
	var xs []float64
	disturbed := false
	for _, steps := range rounds {
		st, ok := stepOf(steps, rate)
		if !ok {
			continue
		}
		if v, ok := value(st); ok {
			xs = append(xs, v)
			disturbed = disturbed || st.OtherLoad > disturbedLoad
		}
	}
	switch {
	case failed && len(xs) == 0:
		return fanoutCellValue{text: "FAIL"}
	case len(xs) == 0:
		return fanoutCellValue{text: "–"}
	}
	med := median(xs)
	text := fmtNum(med)
	if len(xs) > 1 {
		text += fmt.Sprintf(" [%s–%s]", fmtNum(slices.Min(xs)), fmtNum(slices.Max(xs)))
	}
	if disturbed {
		text += "*"
	}
	if failed {
		text += " (FAIL in a round)"
	}
	return fanoutCellValue{text: text, median: med, ok: true}
}

// oursOverBest is the ratio of ours to the best peer's median, naming it.
func oursOverBest(vals map[string]float64, cands []candidate, higher bool) string {
	ours, ok := vals["ours"]
	if !ok {
		return "–"
	}
	bestName, best := "", 0.0
	for _, c := range cands {
		v, ok := vals[c.Name]
		if c.Role != harness.Peer || !ok {
			continue
		}
		if bestName == "" || (higher && v > best) || (!higher && v < best) {
			bestName, best = c.Name, v
		}
	}
	if bestName == "" || best == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f× (%s)", ours/best, bestName)
}

// printFanoutLoad shows how busy each process's CPU was: where the load
// generator's core is full, the rate it reached is its own limit too.
func (r *report) printFanoutLoad(w io.Writer, cands []candidate) {
	fmt.Fprintf(w, "\n### CPU busy, server / load generator (%% of one core, median over rounds)\n\n")
	header := []string{"rate (msg/s)"}
	for _, c := range cands {
		header = append(header, c.Name)
	}
	writeRow(w, header)
	writeRow(w, slices.Repeat([]string{"---"}, len(header)))
	for _, rate := range r.Fanout.Rates {
		cells := []string{fmtRate(rate)}
		for _, c := range cands {
			s := r.fanoutCell(c.Name, rate, func(st loadgen.FanoutStep) (float64, bool) { return st.ServerBusy * 100, true })
			l := r.fanoutCell(c.Name, rate, func(st loadgen.FanoutStep) (float64, bool) { return st.ClientBusy * 100, true })
			if !s.ok || !l.ok {
				cells = append(cells, s.text)
				continue
			}
			cells = append(cells, fmt.Sprintf("%.0f / %.0f", s.median, l.median))
		}
		writeRow(w, cells)
	}
}

// printFanoutOutcomes shows, per rate and round, whether every
// subscriber kept up.
func (r *report) printFanoutOutcomes(w io.Writer, cands []candidate) {
	fmt.Fprintf(w, "\n### Outcome per round: ok; behind (a live subscriber lacked a message older than %s at the step's end); throttled (the publisher could not keep to the rate); dropped N (subscribers closed by the server)\n\n", r.Fanout.Lag)
	header := []string{"rate (msg/s)"}
	for _, c := range cands {
		header = append(header, c.Name)
	}
	writeRow(w, header)
	writeRow(w, slices.Repeat([]string{"---"}, len(header)))
	for _, rate := range r.Fanout.Rates {
		cells := []string{fmtRate(rate)}
		for _, c := range cands {
			rounds, failed := r.fanoutSteps(c.Name)
			var words []string
			for _, steps := range rounds {
				if st, ok := stepOf(steps, rate); ok {
					words = append(words, stepStatus(st))
				} else {
					words = append(words, "not run")
				}
			}
			if failed {
				words = append(words, "FAIL")
			}
			cells = append(cells, strings.Join(words, ", "))
		}
		writeRow(w, cells)
	}
}

// printFanoutSummary gives each server's first troubled rates and its
// losses.
func (r *report) printFanoutSummary(w io.Writer, cands []candidate) {
	fmt.Fprintf(w, "\n### Summary per server (one entry per round)\n\n")
	writeRow(w, []string{"server", "first rate behind or throttled", "first rate with a drop", "subscribers dropped", "missing / out of order / undelivered", "peak deliveries/s (median)", "server RSS after the last step (MiB, median)"})
	writeRow(w, slices.Repeat([]string{"---"}, 7))
	for _, c := range cands {
		var behind, dropAt, dropped []string
		var peak, rss []float64
		var missing, ooo, undelivered int64
		for _, rec := range r.Runs {
			if rec.Scenario != fanoutScenario || rec.Server != c.Name || rec.Error != "" {
				continue
			}
			f := rec.Result.Fanout
			behind = append(behind, firstRate(f.Steps, func(s loadgen.FanoutStep) bool { return s.Behind }))
			dropAt = append(dropAt, firstRate(f.Steps, func(s loadgen.FanoutStep) bool { return s.Dropped > 0 }))
			dropped = append(dropped, fmt.Sprint(f.Dropped))
			missing += f.Missing
			ooo += f.OutOfOrder
			undelivered += f.Undelivered
			p := 0.0
			for _, s := range f.Steps {
				p = max(p, s.DeliveriesPerSec)
			}
			peak = append(peak, p)
			if n := len(f.Steps); n > 0 {
				rss = append(rss, float64(f.Steps[n-1].ServerRSS)/(1<<20))
			}
		}
		if len(peak) == 0 {
			writeRow(w, []string{c.Name, "FAIL", "", "", "", "", ""})
			continue
		}
		writeRow(w, []string{
			c.Name,
			strings.Join(behind, ", "),
			strings.Join(dropAt, ", "),
			strings.Join(dropped, ", "),
			fmt.Sprintf("%d / %d / %d", missing, ooo, undelivered),
			fmtNum(median(peak)),
			fmtNum(median(rss)),
		})
	}
}

// firstRate names the first step's rate for which bad holds, or "none".
func firstRate(steps []loadgen.FanoutStep, bad func(loadgen.FanoutStep) bool) string {
	for _, s := range steps {
		if bad(s) {
			return fmtRate(s.Rate)
		}
	}
	return "none"
}

func (r *report) printFanoutNotes(w io.Writer) {
	var notes []string
	for _, name := range slices.Sorted(maps.Keys(r.Skipped)) {
		notes = append(notes, fmt.Sprintf("%s was skipped: %s", name, firstLine(r.Skipped[name])))
	}
	disturbed, fewest := 0, int64(math.MaxInt64)
	fewestAt := ""
	for _, rec := range r.Runs {
		if rec.Error != "" {
			notes = append(notes, fmt.Sprintf("FAIL %s, round %d: %s", rec.Server, rec.Round, rec.Error))
			continue
		}
		f := rec.Result.Fanout
		for _, s := range f.Steps {
			if s.OtherLoad > disturbedLoad {
				disturbed++
			}
			if s.ServerTicks < fewest {
				fewest = s.ServerTicks
				fewestAt = fmt.Sprintf("%s at %s/s, round %d", rec.Server, fmtRate(s.Rate), rec.Round)
			}
		}
		for _, n := range f.Notes {
			notes = append(notes, fmt.Sprintf("%s, round %d: %s", rec.Server, rec.Round, n))
		}
		if len(f.DropReasons) > 0 {
			var rs []string
			for _, k := range slices.Sorted(maps.Keys(f.DropReasons)) {
				rs = append(rs, fmt.Sprintf("%d × %s", f.DropReasons[k], k))
			}
			notes = append(notes, fmt.Sprintf("%s, round %d, dropped subscribers saw: %s", rec.Server, rec.Round, strings.Join(rs, "; ")))
		}
	}
	if disturbed > 0 {
		notes = append(notes, fmt.Sprintf("* %d steps ran while other processes kept more than %.2f CPUs busy: cells marked * are unreliable.", disturbed, disturbedLoad))
	}
	if fewestAt != "" {
		notes = append(notes, fmt.Sprintf("Server CPU is counted in 10 ms ticks; the smallest count behind a CPU figure was %d ticks (%s), a rounding error of at most %.1f%%.",
			fewest, fewestAt, 100/float64(max(fewest, 1))))
	}
	if len(notes) == 0 {
		return
	}
	fmt.Fprintln(w, "\nNotes:")
	for _, n := range notes {
		fmt.Fprintln(w, "- "+n)
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func fmtRate(r float64) string { return fmt.Sprintf("%g", r) }

// fmtNum prints v to about three significant digits, with thousands
// separated.
func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return commas(fmt.Sprintf("%.0f", v))
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	case a == 0:
		return "0"
	}
	return fmt.Sprintf("%.3g", v)
}

func commas(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
