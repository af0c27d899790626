package main

import "fmt"

// Values of Autobahn's "behavior" field: the judgement of the observed
// traffic. The strings are Autobahn's, so index.json files of both suites
// read the same.
const (
	OK            = "OK"
	NonStrict     = "NON-STRICT"
	Failed        = "FAILED"
	Informational = "INFORMATIONAL"
	Unimplemented = "UNIMPLEMENTED"
)

// Values of Autobahn's "behaviorClose" field: the judgement of the closing
// handshake. OK, FAILED and INFORMATIONAL are shared with the list above.
const (
	CloseWrongCode      = "WRONG CODE"
	CloseUnclean        = "UNCLEAN"
	CloseFailedByClient = "FAILED BY CLIENT"
)

// overallVerdict folds Autobahn's two columns into the one verdict this
// suite counts and exits on. Autobahn's report paints the close column red
// for FAILED and UNCLEAN and yellow (non-strict) for WRONG CODE; we rank a
// case by the worse of its two columns in the same colours. FAILED BY CLIENT
// ("the client had to drop TCP") is painted as a near pass and does not
// lower the verdict. Unknown behaviour strings count as FAILED.
func overallVerdict(behavior, behaviorClose string) string {
	v := behavior
	switch v {
	case OK, NonStrict, Informational, Failed:
	case Unimplemented:
		return Unimplemented
	default:
		v = Failed
	}
	switch behaviorClose {
	case Failed, CloseUnclean:
		return Failed
	case CloseWrongCode:
		if v == OK {
			return NonStrict
		}
	}
	return v
}

// tally counts overall verdicts for the one-line summary.
type tally struct {
	total, ok, informational, unimplemented, nonStrict, failed int
}

func (t *tally) add(verdict string) {
	t.total++
	switch verdict {
	case OK:
		t.ok++
	case Informational:
		t.informational++
	case Unimplemented:
		t.unimplemented++
	case NonStrict:
		t.nonStrict++
	default:
		t.failed++
	}
}

// passed reports whether the run should exit zero.
func (t tally) passed() bool { return t.nonStrict == 0 && t.failed == 0 }

// String is the summary line, e.g.
// "autobahn: 301 cases: 298 OK, 3 INFORMATIONAL, 0 NON-STRICT, 0 FAILED".
func (t tally) String() string { return t.line("autobahn") }

// clientLine is the summary line of the fuzzingserver role for one client,
// e.g. "autobahn (client NAME): 517 cases: ...".
func (t tally) clientLine(agent string) string {
	return t.line("autobahn (client " + agent + ")")
}

func (t tally) line(label string) string {
	s := fmt.Sprintf("%s: %d cases: %d OK, %d INFORMATIONAL, ", label, t.total, t.ok, t.informational)
	if t.unimplemented > 0 {
		s += fmt.Sprintf("%d UNIMPLEMENTED, ", t.unimplemented)
	}
	return s + fmt.Sprintf("%d NON-STRICT, %d FAILED", t.nonStrict, t.failed)
}
