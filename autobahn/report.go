package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// caseReport is the per-case JSON file. Field names follow Autobahn's case
// reports so tools that read those can read these; "verdict" is ours.
type caseReport struct {
	ID                             string             `json:"id"`
	Description                    string             `json:"description"`
	Expectation                    string             `json:"expectation"`
	Agent                          string             `json:"agent"`
	Started                        string             `json:"started"`
	Duration                       int64              `json:"duration"`
	ReportTime                     bool               `json:"reportTime"`
	Verdict                        string             `json:"verdict"`
	Behavior                       string             `json:"behavior"`
	BehaviorClose                  string             `json:"behaviorClose"`
	Result                         string             `json:"result"`
	ResultClose                    string             `json:"resultClose"`
	Expected                       map[string][]Event `json:"expected"`
	ExpectedClose                  closeExpectation   `json:"expectedClose"`
	Received                       []Event            `json:"received"`
	ClosedByMe                     bool               `json:"closedByMe"`
	FailedByMe                     bool               `json:"failedByMe"`
	DroppedByMe                    bool               `json:"droppedByMe"`
	WasClean                       bool               `json:"wasClean"`
	WasNotCleanReason              *string            `json:"wasNotCleanReason"`
	WasServerConnectionDropTimeout bool               `json:"wasServerConnectionDropTimeout"`
	WasOpenHandshakeTimeout        bool               `json:"wasOpenHandshakeTimeout"`
	WasCloseHandshakeTimeout       bool               `json:"wasCloseHandshakeTimeout"`
	LocalCloseCode                 *int               `json:"localCloseCode"`
	LocalCloseReason               *string            `json:"localCloseReason"`
	RemoteCloseCode                *int               `json:"remoteCloseCode"`
	RemoteCloseReason              *string            `json:"remoteCloseReason"`
	IsServer                       bool               `json:"isServer"`
	OpenError                      string             `json:"openError,omitempty"`
	Traffic                        trafficSummary     `json:"traffic"`
	Compression                    *compressionReport `json:"compression,omitempty"`
}

// compressionReport is the permessage-deflate part of a case report, for
// the cases that offer it (sections 12 and 13): the handshake, and the
// octets of the messages before and after compression (Autobahn reports
// the ratio for these cases). Received messages count whether or not the
// server compressed them.
type compressionReport struct {
	Offer              string   `json:"offer"`            // the client's Sec-WebSocket-Extensions (ours in the client role)
	Response           []string `json:"response"`         // the server's Sec-WebSocket-Extensions (ours in the server role)
	Agreed             string   `json:"agreed,omitempty"` // empty: the server declined
	HuffmanOnly        bool     `json:"huffmanOnly,omitempty"`
	TxMessageOctets    int64    `json:"txMessageOctets"`
	TxCompressedOctets int64    `json:"txCompressedOctets"`
	RxMessageOctets    int64    `json:"rxMessageOctets"`
	RxCompressedOctets int64    `json:"rxCompressedOctets"`
}

// trafficSummary says what went over the wire, without the payloads.
type trafficSummary struct {
	TxFrames map[string]int `json:"txFrames"` // frames we sent, by opcode name
	RxFrames map[string]int `json:"rxFrames"` // frames the peer sent, by opcode name
	TxOctets int64          `json:"txOctets"`
	RxOctets int64          `json:"rxOctets"`
}

// indexEntry is one case in index.json, exactly Autobahn's fields.
type indexEntry struct {
	Behavior        string `json:"behavior"`
	BehaviorClose   string `json:"behaviorClose"`
	Duration        int64  `json:"duration"`
	RemoteCloseCode *int   `json:"remoteCloseCode"`
	ReportFile      string `json:"reportfile"`
}

func newCaseReport(agent string, r outcome) caseReport {
	s := r.s
	description, expectation := r.c.texts(s.server)
	rep := caseReport{
		ID:                             r.c.ID,
		Description:                    description,
		Expectation:                    expectation,
		Agent:                          agent,
		Started:                        r.started.UTC().Format(time.RFC3339Nano),
		Duration:                       s.elapsed.Milliseconds(),
		ReportTime:                     r.c.ReportTime,
		Verdict:                        r.verdict,
		Behavior:                       s.behavior,
		BehaviorClose:                  s.behaviorClose,
		Result:                         s.result,
		ResultClose:                    s.resultClose,
		Expected:                       map[string][]Event{},
		ExpectedClose:                  s.expectClose,
		Received:                       s.received,
		ClosedByMe:                     s.closedByMe,
		FailedByMe:                     s.failedByMe,
		DroppedByMe:                    s.droppedByMe,
		WasClean:                       s.wasClean,
		WasServerConnectionDropTimeout: s.wasServerConnectionDropTimeout,
		WasOpenHandshakeTimeout:        s.wasOpenHandshakeTimeout,
		WasCloseHandshakeTimeout:       s.wasCloseHandshakeTimeout,
		LocalCloseCode:                 s.localCloseCode,
		LocalCloseReason:               reasonText(s.localCloseReason),
		RemoteCloseCode:                s.remoteCloseCode,
		RemoteCloseReason:              reasonText(s.remoteCloseReason),
		IsServer:                       s.server,
		Traffic: trafficSummary{
			TxFrames: opcodeCounts(s.txFrames),
			RxFrames: opcodeCounts(s.rxFrames),
			TxOctets: s.txOctets,
			RxOctets: s.rx.Load(),
		},
	}
	if rep.Received == nil {
		rep.Received = []Event{}
	}
	for _, e := range s.expected {
		rep.Expected[e.verdict] = append([]Event{}, e.events...)
	}
	if s.wasNotCleanReason != "" {
		rep.WasNotCleanReason = &s.wasNotCleanReason
	}
	if r.openErr != nil {
		rep.OpenError = r.openErr.Error()
	}
	if s.offered != "" || len(s.extResponse) > 0 {
		c := &compressionReport{Offer: s.offered, Response: s.extResponse,
			TxMessageOctets: s.txAppOctets, TxCompressedOctets: s.txZipOctets,
			RxMessageOctets: s.rxAppOctets, RxCompressedOctets: s.rxZipOctets}
		if c.Response == nil {
			c.Response = []string{}
		}
		if s.deflate != nil {
			c.Agreed = s.deflate.String()
			c.HuffmanOnly = s.compressor.huffmanOnly
		}
		rep.Compression = c
	}
	return rep
}

// reasonText renders a close reason; reasons that are not UTF-8 (7.5.1
// sends one) are shown in hex.
func reasonText(p []byte) *string {
	if p == nil {
		return nil
	}
	s := string(p)
	if !validUTF8(p) {
		s = fmt.Sprintf("0x%x", p)
	}
	return &s
}

func opcodeCounts(m map[byte]int) map[string]int {
	names := map[byte]string{opContinuation: "continuation", opText: "text", opBinary: "binary",
		opClose: "close", opPing: "ping", opPong: "pong"}
	out := map[string]int{}
	for op, n := range m {
		name, ok := names[op]
		if !ok {
			name = fmt.Sprintf("reserved-%d", op)
		}
		out[name] = n
	}
	return out
}

// reportFileName is Autobahn's naming: the agent lowercased with anything
// but letters and digits turned into underscores, "_case_", the id with
// dots as underscores.
func reportFileName(agent, id string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return ' '
	}, strings.ToLower(strings.TrimSpace(agent)))
	clean = strings.ReplaceAll(strings.TrimSpace(clean), " ", "_")
	return clean + "_case_" + strings.ReplaceAll(id, ".", "_") + ".json"
}

// writeReport writes one JSON file per case, index.json in Autobahn's shape
// and a readable summary.txt into dir.
func writeReport(dir, agent string, results []outcome) error {
	return writeReports(dir, []agentResults{{agent: agent, results: results}})
}

// agentResults are the outcomes of one agent: the server tested in the
// client role, a client in the fuzzingserver role.
type agentResults struct {
	agent   string
	results []outcome
}

// writeReports writes the report of one or more agents into dir: a JSON
// file per agent and case, one index.json of all agents (agent → case, as
// Autobahn's reports/servers/index.json and reports/clients/index.json
// are), and summary.txt with a table and a summary line per agent.
func writeReports(dir string, agents []agentResults) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	index := map[string]map[string]indexEntry{}
	var summary bytes.Buffer
	for i, a := range agents {
		if i > 0 {
			summary.WriteString("\n")
		}
		index[a.agent] = map[string]indexEntry{}
		tw := tabwriter.NewWriter(&summary, 0, 8, 2, ' ', 0)
		fmt.Fprintf(tw, "case\tverdict\tbehavior\tclose\tcode\tms\tdescription\n")
		var t tally
		for _, r := range a.results {
			rep := newCaseReport(a.agent, r)
			name := reportFileName(a.agent, r.c.ID)
			if err := writeJSON(filepath.Join(dir, name), rep); err != nil {
				return err
			}
			index[a.agent][r.c.ID] = indexEntry{
				Behavior:        rep.Behavior,
				BehaviorClose:   rep.BehaviorClose,
				Duration:        rep.Duration,
				RemoteCloseCode: rep.RemoteCloseCode,
				ReportFile:      name,
			}
			code := "-"
			if rep.RemoteCloseCode != nil {
				code = fmt.Sprint(*rep.RemoteCloseCode)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.c.ID, r.verdict, rep.Behavior, rep.BehaviorClose,
				code, rep.Duration, shorten(rep.Description, 70))
			t.add(r.verdict)
		}
		tw.Flush()
		fmt.Fprintf(&summary, "\nagent: %s\n%s\n", a.agent, t)
	}
	if err := writeJSON(filepath.Join(dir, "index.json"), index); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "summary.txt"), summary.Bytes(), 0o644)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "   ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
