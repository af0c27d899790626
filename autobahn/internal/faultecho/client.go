package faultecho

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client is an echo client for an Autobahn fuzzingserver, with the same
// frame handling as the server, from the other side, and the same faults
// (AcceptMasked instead of AcceptUnmasked). It makes no permessage-deflate
// offer.
type Client struct {
	Fault Fault
	Agent string
}

// dialTimeout bounds the connection and the opening handshake.
const dialTimeout = 30 * time.Second

// Run drives the fuzzingserver at base (ws://host:port) as Autobahn's test
// clients do: getCaseCount, runCase for every case in order, then
// updateReports. Only a failure to talk to the server is an error; how the
// cases went is the server's verdict.
func (cl Client) Run(base string) error {
	n, err := cl.CaseCount(base)
	if err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		if err := cl.RunCase(base, i); err != nil {
			return fmt.Errorf("case %d: %w", i, err)
		}
	}
	return cl.UpdateReports(base)
}

// CaseCount asks the server how many cases it has.
func (cl Client) CaseCount(base string) (int, error) {
	var count []byte
	err := cl.session(base+"/getCaseCount", func(text bool, msg []byte) {
		if text && count == nil {
			count = append([]byte{}, msg...)
		}
	})
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(string(count))
	if err != nil {
		return 0, fmt.Errorf("getCaseCount sent %q", count)
	}
	return n, nil
}

// RunCase runs case n (counting from 1): it echoes until the server closes.
func (cl Client) RunCase(base string, n int) error {
	return cl.session(fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, n, url.QueryEscape(cl.Agent)), nil)
}

// UpdateReports asks the server to write its report.
func (cl Client) UpdateReports(base string) error {
	return cl.session(base+"/updateReports?agent="+url.QueryEscape(cl.Agent), nil)
}

// session opens a connection to rawURL and serves it until it ends; with
// onMessage set, messages go there instead of being echoed.
func (cl Client) session(rawURL string, onMessage func(text bool, msg []byte)) error {
	nc, r, err := dial(rawURL)
	if err != nil {
		return err
	}
	c := &conn{fault: cl.Fault, nc: nc, r: r, client: true, onMessage: onMessage}
	c.serve()
	return nil
}

// dial opens a TCP connection and performs the client opening handshake
// of RFC 6455 section 4.1.
func dial(rawURL string) (net.Conn, *bufio.Reader, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, err
	}
	if u.Scheme != "ws" {
		return nil, nil, fmt.Errorf("%s: only ws:// URLs", rawURL)
	}
	nc, err := net.DialTimeout("tcp", u.Host, dialTimeout)
	if err != nil {
		return nil, nil, err
	}
	nc.SetDeadline(time.Now().Add(dialTimeout))
	var raw [16]byte
	rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\n" +
		"Host: " + u.Host + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"User-Agent: faultecho-client\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		nc.Close()
		return nil, nil, err
	}
	r := bufio.NewReader(nc)
	resp, err := http.ReadResponse(r, &http.Request{Method: http.MethodGet})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	resp.Body.Close()
	sum := sha1.Sum([]byte(key + websocketGUID))
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		err = fmt.Errorf("status %s", resp.Status)
	case !hasToken(resp.Header, "Upgrade", "websocket") || !hasToken(resp.Header, "Connection", "upgrade"):
		err = errors.New("not an upgrade")
	case resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]):
		err = errors.New("wrong Sec-WebSocket-Accept")
	case strings.TrimSpace(resp.Header.Get("Sec-WebSocket-Extensions")) != "":
		err = errors.New("an extension that was not offered")
	}
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("%s: %w", rawURL, err)
	}
	nc.SetDeadline(time.Time{})
	return nc, r, nil
}
