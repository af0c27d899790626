package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The fuzzingserver role: the suite is a WebSocket server and tests a
// client. As with Autobahn's `wstest -m fuzzingserver` (fuzzing.py,
// FuzzingServerProtocol.onConnect and FuzzingProtocol.onOpen), a client
// under test
//
//   - opens /getCaseCount and reads one text message, the number of cases;
//   - opens /runCase?case=N&agent=NAME for N = 1 ... count, and echoes every
//     message it receives, with its type, until the suite closes;
//   - opens /updateReports?agent=NAME, which writes the report.
//
// Each /runCase connection runs one case of the same list the client role
// runs (allCases), in the same order, with a server-role Session: the
// case's frames go out unmasked, and the client's behaviour is judged by
// the same rules (see judge). /getCaseInfo?case=N answers with the case's
// id and description as JSON, as newer Autobahn releases do. Autobahn's
// /getCaseStatus and its "direct command mode" on other paths are not
// offered; other paths are refused with 404.

// serverName is the Server header of the fuzzingserver's handshake answers.
const serverName = "wirekit-autobahn/1.0 (Go re-implementation of Autobahn fuzzingserver)"

// controlLimit bounds the connections that run no case (getCaseCount,
// getCaseInfo, updateReports); their own close handshake ends them sooner.
const controlLimit = 60 * time.Second

// fuzzingServer serves the cases to any client that connects, and keeps
// each agent's outcomes until the report is written.
type fuzzingServer struct {
	cases     []*Case
	reportDir string // empty: no report files
	verbose   bool   // a line per case
	quiet     bool   // no lines for problem cases
	// standalone: no -client-cmd. Several clients may run at once, so case
	// lines start with the agent, and each /updateReports prints the
	// agent's summary line (with -client-cmd the harness prints it).
	standalone bool
	out        io.Writer // case and summary lines; only written under mu
	logs       io.Writer // refused handshakes; safe for concurrent use
	// shutdown receives the agent of an /updateReports that asks the
	// server to stop (shutdownOnComplete=true, as in Autobahn).
	shutdown chan string

	mu           sync.Mutex
	results      map[string]map[string]outcome // agent → case id → outcome
	agents       []string                      // in order of their first case
	active       int                           // connections being served
	lastActivity time.Time                     // a connection began or ended
	conns        map[net.Conn]struct{}
	wg           sync.WaitGroup
}

func newFuzzingServer(cases []*Case, out, logs io.Writer) *fuzzingServer {
	return &fuzzingServer{
		cases:        cases,
		out:          out,
		logs:         logs,
		shutdown:     make(chan string, 1),
		results:      map[string]map[string]outcome{},
		lastActivity: time.Now(),
		conns:        map[net.Conn]struct{}{},
	}
}

// serve accepts connections on ln until ln is closed, serving each on its
// own goroutine. Cancelling ctx ends the connections being served.
func (fs *fuzzingServer) serve(ctx context.Context, ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		fs.mu.Lock()
		fs.active++
		fs.lastActivity = time.Now()
		fs.conns[conn] = struct{}{}
		fs.wg.Add(1)
		fs.mu.Unlock()
		go func() {
			defer func() {
				conn.Close()
				fs.mu.Lock()
				fs.active--
				fs.lastActivity = time.Now()
				delete(fs.conns, conn)
				fs.mu.Unlock()
				fs.wg.Done()
			}()
			fs.handle(ctx, conn)
		}()
	}
}

// wait waits for the connections being served to end.
func (fs *fuzzingServer) wait() { fs.wg.Wait() }

// closeConns drops every connection being served.
func (fs *fuzzingServer) closeConns() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for c := range fs.conns {
		c.Close()
	}
}

// idleFor reports how long no connection has been open, zero while one is.
func (fs *fuzzingServer) idleFor() time.Duration {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.active > 0 {
		return 0
	}
	return time.Since(fs.lastActivity)
}

// handshakeError is a refused opening handshake: the HTTP status sent and
// why.
type handshakeError struct {
	status int
	reason string
}

func (e *handshakeError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, http.StatusText(e.status), e.reason)
}

func refusal(status int, format string, args ...any) *handshakeError {
	return &handshakeError{status: status, reason: fmt.Sprintf(format, args...)}
}

// handle reads the client's opening handshake and serves the endpoint it
// asks for.
func (fs *fuzzingServer) handle(ctx context.Context, conn net.Conn) {
	conn.SetDeadline(time.Now().Add(openHandshakeTimeout * timeScale))
	br := bufio.NewReaderSize(conn, 64<<10)
	req, err := http.ReadRequest(br)
	if err != nil {
		refuse(conn, refusal(http.StatusBadRequest, "reading the request: %v", err))
		return
	}
	query := req.URL.Query()
	agent := query.Get("agent")
	switch req.URL.Path {
	case "/runCase":
		fs.runCase(ctx, conn, br, req, agent)
	case "/getCaseCount":
		fs.control(ctx, conn, br, req, func(s *Session) {
			s.SendMessage([]byte(strconv.Itoa(len(fs.cases))), false, 0)
			s.Close(noCode, nil)
		})
	case "/getCaseInfo":
		c, herr := fs.caseParam(query)
		if herr != nil {
			fs.refuse(conn, req, herr)
			return
		}
		info, _ := json.Marshal(map[string]string{"id": c.ID, "description": c.Description})
		fs.control(ctx, conn, br, req, func(s *Session) {
			s.SendMessage(info, false, 0)
			s.Close(noCode, nil)
		})
	case "/updateReports":
		if agent == "" {
			fs.refuse(conn, req, refusal(http.StatusBadRequest, "updateReports needs an agent"))
			return
		}
		stop := strings.EqualFold(query.Get("shutdownOnComplete"), "true") || strings.EqualFold(query.Get("shutdownOnComplete"), "yes")
		fs.control(ctx, conn, br, req, func(s *Session) {
			fs.updateReports(agent)
			s.Close(noCode, nil)
		})
		if stop {
			select {
			case fs.shutdown <- agent:
			default:
			}
		}
	default:
		fs.refuse(conn, req, refusal(http.StatusNotFound, "no endpoint %s (the suite serves /getCaseCount, /runCase, /getCaseInfo and /updateReports)", req.URL.Path))
	}
}

// caseParam resolves the case=N parameter, N counting from 1 in the order
// of the selected cases.
func (fs *fuzzingServer) caseParam(query map[string][]string) (*Case, *handshakeError) {
	v := query["case"]
	if len(v) != 1 {
		return nil, refusal(http.StatusBadRequest, "need exactly one case parameter")
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < 1 || n > len(fs.cases) {
		return nil, refusal(http.StatusBadRequest, "case %q is not a number from 1 to %d", v[0], len(fs.cases))
	}
	return fs.cases[n-1], nil
}

// runCase serves /runCase: one case, judged and recorded for the agent.
// A refused opening handshake is recorded too, as a FAILED case, once the
// case and agent are known.
func (fs *fuzzingServer) runCase(ctx context.Context, conn net.Conn, br *bufio.Reader, req *http.Request, agent string) {
	c, herr := fs.caseParam(req.URL.Query())
	if herr == nil && agent == "" {
		herr = refusal(http.StatusBadRequest, "runCase needs an agent")
	}
	if herr != nil {
		fs.refuse(conn, req, herr)
		return
	}
	out := outcome{c: c, s: newSession(c), started: time.Now()}
	s := out.s
	s.server = true
	key, offers, herr := checkUpgrade(req)
	var answer string
	if herr == nil && c.Offers != nil {
		s.offered = strings.Join(req.Header.Values("Sec-WebSocket-Extensions"), ", ")
		if p, a, ok := acceptOffer(c.Offers, offers); ok {
			s.setDeflate(p)
			answer = a
			s.extResponse = []string{a}
		}
	}
	if herr == nil {
		if err := accept(conn, key, answer); err != nil {
			out.openErr = err
		}
	} else {
		fs.refuse(conn, req, herr)
		out.openErr = herr
	}
	if out.openErr == nil {
		conn.SetDeadline(time.Time{})
		limit := c.Limit
		if limit <= 0 {
			limit = defaultCaseLimit
		}
		s.run(ctx, &opened{conn: conn, r: br}, limit)
	}
	s.judge()
	out.verdict = overallVerdict(s.behavior, s.behaviorClose)
	fs.record(agent, out)
}

// control serves an endpoint that runs no case: start sends what it has to
// say and closes; the session then completes the close handshake.
func (fs *fuzzingServer) control(ctx context.Context, conn net.Conn, br *bufio.Reader, req *http.Request, start func(s *Session)) {
	key, _, herr := checkUpgrade(req)
	if herr != nil {
		fs.refuse(conn, req, herr)
		return
	}
	if accept(conn, key, "") != nil {
		return
	}
	conn.SetDeadline(time.Time{})
	s := newSession(&Case{ID: req.URL.Path, Start: start})
	s.server = true
	s.run(ctx, &opened{conn: conn, r: br}, controlLimit)
}

// record keeps a case's outcome for its agent and prints its line.
func (fs *fuzzingServer) record(agent string, r outcome) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	byCase, ok := fs.results[agent]
	if !ok {
		byCase = map[string]outcome{}
		fs.results[agent] = byCase
		fs.agents = append(fs.agents, agent)
	}
	byCase[r.c.ID] = r // a case run again replaces its outcome, as in Autobahn
	if fs.verbose || (!fs.quiet && !acceptable(r.verdict)) {
		line := caseLine(r)
		if fs.standalone {
			line = agent + ": " + line
		}
		fmt.Fprintln(fs.out, line)
	}
}

// agentOutcomes returns an agent's outcomes in case order. A case the
// client never ran is FAILED: a client under test is to run every case
// getCaseCount announces.
func (fs *fuzzingServer) agentOutcomes(agent string) ([]outcome, tally) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var (
		list []outcome
		t    tally
	)
	for _, c := range fs.cases {
		r, ok := fs.results[agent][c.ID]
		if !ok {
			r = notRun(c)
		}
		list = append(list, r)
		t.add(r.verdict)
	}
	return list, t
}

// notRun is the outcome of a case the client never opened.
func notRun(c *Case) outcome {
	s := newSession(c)
	s.server = true
	s.result = "The client never ran this case."
	s.resultClose = "The WebSocket opening handshake was never completed!"
	return outcome{c: c, s: s, verdict: Failed, openErr: errors.New("the client never opened this case"), notRun: true}
}

// knownAgents returns the agents that ran cases, in order of their first.
func (fs *fuzzingServer) knownAgents() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]string(nil), fs.agents...)
}

// updateReports is /updateReports: it writes the report of every agent so
// far, as Autobahn's createReports does, and, standalone, prints the
// agent's summary line.
func (fs *fuzzingServer) updateReports(agent string) {
	if fs.standalone {
		_, t := fs.agentOutcomes(agent)
		fs.mu.Lock()
		fmt.Fprintln(fs.out, t.clientLine(agent))
		fs.mu.Unlock()
	}
	if err := fs.writeReport(); err != nil {
		fmt.Fprintln(fs.logs, "autobahn: writing report:", err)
	}
}

// writeReport writes the report of every agent that ran cases.
func (fs *fuzzingServer) writeReport(extra ...string) error {
	if fs.reportDir == "" {
		return nil
	}
	agents := fs.knownAgents()
	for _, a := range extra {
		if !containsString(agents, a) {
			agents = append(agents, a)
		}
	}
	var all []agentResults
	for _, a := range agents {
		list, _ := fs.agentOutcomes(a)
		all = append(all, agentResults{agent: a, results: list})
	}
	return writeReports(fs.reportDir, all)
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// refuse answers a handshake the server will not take, and logs why.
func (fs *fuzzingServer) refuse(conn net.Conn, req *http.Request, herr *handshakeError) {
	fmt.Fprintf(fs.logs, "autobahn: refused %s from %s: %v\n", req.URL.RequestURI(), conn.RemoteAddr(), herr)
	refuse(conn, herr)
}

// checkUpgrade checks a client's opening handshake (RFC 6455 section
// 4.2.1) and returns its Sec-WebSocket-Key and permessage-deflate offers.
// As Autobahn's server, it refuses a malformed offer.
func checkUpgrade(req *http.Request) (string, []clientOffer, *handshakeError) {
	switch {
	case req.Method != http.MethodGet:
		return "", nil, refusal(http.StatusMethodNotAllowed, "the method is %s, want GET", req.Method)
	case !req.ProtoAtLeast(1, 1):
		return "", nil, refusal(http.StatusBadRequest, "%s, want HTTP/1.1", req.Proto)
	case req.Host == "":
		return "", nil, refusal(http.StatusBadRequest, "no Host header")
	case !headerHasToken(req.Header, "Upgrade", "websocket"):
		return "", nil, refusal(http.StatusBadRequest, "the Upgrade header %q lacks websocket", req.Header.Get("Upgrade"))
	case !headerHasToken(req.Header, "Connection", "upgrade"):
		return "", nil, refusal(http.StatusBadRequest, "the Connection header %q lacks upgrade", req.Header.Get("Connection"))
	case req.Header.Get("Sec-WebSocket-Version") != "13":
		return "", nil, refusal(http.StatusUpgradeRequired, "Sec-WebSocket-Version %q, want 13", req.Header.Get("Sec-WebSocket-Version"))
	}
	key := req.Header.Get("Sec-WebSocket-Key")
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 {
		return "", nil, refusal(http.StatusBadRequest, "Sec-WebSocket-Key %q is not 16 octets in base64", key)
	}
	offers, err := parseClientOffers(req.Header.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		return "", nil, refusal(http.StatusBadRequest, "Sec-WebSocket-Extensions: %v", err)
	}
	return key, offers, nil
}

// accept writes the 101 answer to an opening handshake; extensions, when
// not empty, is its Sec-WebSocket-Extensions.
func accept(conn net.Conn, key, extensions string) error {
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	fmt.Fprintf(&b, "Server: %s\r\n", serverName)
	b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\n")
	fmt.Fprintf(&b, "Sec-WebSocket-Accept: %s\r\n", acceptKey(key))
	if extensions != "" {
		fmt.Fprintf(&b, "Sec-WebSocket-Extensions: %s\r\n", extensions)
	}
	b.WriteString("\r\n")
	_, err := io.WriteString(conn, b.String())
	return err
}

// refuse answers a refused handshake with its status and reason as text.
func refuse(conn net.Conn, herr *handshakeError) {
	body := herr.reason + "\n"
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", herr.status, http.StatusText(herr.status))
	fmt.Fprintf(&b, "Server: %s\r\n", serverName)
	if herr.status == http.StatusUpgradeRequired {
		b.WriteString("Sec-WebSocket-Version: 13\r\n")
	}
	fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	io.WriteString(conn, b.String())
}

// lockedWriter serializes writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
