package websocket

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// This file reads the client's Sec-WebSocket-Extensions header (RFC 6455
// §4.3, §9.1) and negotiates permessage-deflate (RFC 7692 §7) from it.

// extensionOffer is one extension the client offered, with its parameters in
// order.
type extensionOffer struct {
	name   string
	params []extensionParam
}

type extensionParam struct {
	name     string
	value    string // unquoted and unescaped
	hasValue bool
}

// parseExtensions parses the values of the Sec-WebSocket-Extensions header
// lines, each a comma-separated list of offers, per the grammar of RFC 6455
// §4.3 and §9.1:
//
//	extension-list  = 1#extension
//	extension       = token *( ";" extension-param )
//	extension-param = token [ "=" ( token / quoted-string ) ]
//
// with optional whitespace around the separators. Empty list elements, as in
// "a, , b", are ignored (RFC 7230 §7), so a header with nothing else in it
// yields no offers. Quoted values are returned unescaped and must, as §4.3
// requires, then be tokens themselves.
//
// Anything else makes the whole header invalid, and parseExtensions returns
// an error and no offers. It does not skip just the offending offer: after a
// syntax error there is no reliable point to resume from (a stray quote moves
// every later comma), and guessing what the client meant is how two parsers
// come to disagree about one header. The caller should refuse the handshake:
// RFC 6455 §4.2.1 requires an error such as 400 Bad Request for "any
// violations of the ABNF grammar" of the handshake's fields.
//
// Names are returned as sent: RFC 6455 does not make extension or parameter
// names case-insensitive, so comparing them is left exact.
//
// The result takes two allocations, sized from the number of ',' and ';' in
// the input, plus one per quoted value that contains an escape; names and
// other values share the input's memory.
func parseExtensions(values []string) ([]extensionOffer, error) {
	// Every offer but the first on a line follows a comma and every
	// parameter a semicolon, so these bound what the loop below appends:
	// the slices are allocated once and never grow.
	maxOffers, maxParams := 0, 0
	for _, v := range values {
		maxOffers += strings.Count(v, ",") + 1
		maxParams += strings.Count(v, ";")
	}
	var offers []extensionOffer
	var params []extensionParam
	for _, v := range values {
		l := extLexer{s: v}
		for {
			l.skipSpace()
			if l.eof() {
				break
			}
			if l.consume(',') { // an empty element
				continue
			}
			name := l.token()
			if name == "" {
				return nil, l.errorf("extension name expected")
			}
			first := len(params)
			l.skipSpace()
			for l.consume(';') {
				l.skipSpace()
				p := extensionParam{name: l.token()}
				if p.name == "" {
					return nil, l.errorf("parameter name expected")
				}
				l.skipSpace()
				if l.consume('=') {
					l.skipSpace()
					var err error
					if p.value, err = l.paramValue(); err != nil {
						return nil, err
					}
					p.hasValue = true
					l.skipSpace()
				}
				if params == nil {
					params = make([]extensionParam, 0, maxParams)
				}
				params = append(params, p)
			}
			if !l.eof() && !l.consume(',') {
				return nil, l.errorf("',' or ';' expected")
			}
			if offers == nil {
				offers = make([]extensionOffer, 0, maxOffers)
			}
			o := extensionOffer{name: name}
			if len(params) > first {
				o.params = params[first:len(params):len(params)]
			}
			offers = append(offers, o)
		}
	}
	return offers, nil
}

// extLexer scans one header line.
type extLexer struct {
	s string
	i int
}

func (l *extLexer) eof() bool { return l.i >= len(l.s) }

// errorf reports a syntax error at the cursor. It leaves the header out: it
// may be long, and the message may end up in a 400 response.
func (l *extLexer) errorf(what string) error {
	return fmt.Errorf("websocket: invalid Sec-WebSocket-Extensions header: %s at byte %d", what, l.i)
}

// skipSpace skips optional whitespace (RFC 7230 §3.2.3: SP and HTAB).
func (l *extLexer) skipSpace() {
	for l.i < len(l.s) && (l.s[l.i] == ' ' || l.s[l.i] == '\t') {
		l.i++
	}
}

func (l *extLexer) consume(c byte) bool {
	if l.i < len(l.s) && l.s[l.i] == c {
		l.i++
		return true
	}
	return false
}

// token returns the longest token at the cursor, possibly empty.
func (l *extLexer) token() string {
	start := l.i
	for l.i < len(l.s) && isExtTokenChar(l.s[l.i]) {
		l.i++
	}
	return l.s[start:l.i]
}

// paramValue reads a parameter's value: a token, or a quoted-string (RFC 7230
// §3.2.6) whose unescaped content is a token.
func (l *extLexer) paramValue() (string, error) {
	if !l.consume('"') {
		v := l.token()
		if v == "" {
			return "", l.errorf("parameter value expected")
		}
		return v, nil
	}
	start, escapes := l.i, 0
	for ; ; l.i++ {
		if l.eof() {
			return "", l.errorf("unterminated quoted string")
		}
		c := l.s[l.i]
		if c == '"' {
			break
		}
		if c == '\\' {
			escapes++
			l.i++ // quoted-pair: the next byte stands for itself
			if l.eof() {
				return "", l.errorf("unterminated quoted string")
			}
		}
		// RFC 7230 lets quotes hold spaces and separators, escaped or
		// not, but the unescaped value must be a token (RFC 6455 §4.3).
		if !isExtTokenChar(l.s[l.i]) {
			return "", l.errorf("quoted value is not a token")
		}
	}
	raw := l.s[start:l.i]
	l.i++ // the closing quote
	if raw == "" {
		return "", l.errorf("quoted value is not a token")
	}
	if escapes == 0 {
		return raw, nil
	}
	var b strings.Builder
	b.Grow(len(raw) - escapes)
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' {
			i++
		}
		b.WriteByte(raw[i])
	}
	return b.String(), nil
}

// isExtTokenChar reports whether c is a tchar (RFC 7230 §3.2.6).
func isExtTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c != 0 && strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// deflateConfig is what the server is willing to do.
type deflateConfig struct {
	serverNoContextTakeover bool // the server will not keep its compression context (saves memory)
	clientNoContextTakeover bool // the server asks the client not to keep its context: no history to keep
	serverMaxWindowBits     int  // 8..15, the server's compressor window at most; 0 means 15
	clientMaxWindowBits     int  // 8..15, the client window asked for when the client keeps its context; 0 means 15
}

// deflateParams is what was agreed for one connection. For a client (see
// acceptDeflateResponse) the fields read from the side of the connection
// that holds them: "server" is this side, "client" the peer.
type deflateParams struct {
	serverNoContextTakeover bool // server resets its compressor after each message
	clientNoContextTakeover bool // client resets its compressor after each message (our inflater may reset too)
	serverMaxWindowBits     int  // 8..15, the server's LZ77 window (15 when not limited)
	clientMaxWindowBits     int  // 8..15, the client's LZ77 window (15 when not limited)
}

// The permessage-deflate parameters (RFC 7692 §7.1), as bits: an offer's
// set of parameters, to catch repeats.
const (
	pmdServerNoContextTakeover = 1 << iota
	pmdClientNoContextTakeover
	pmdServerMaxWindowBits
	pmdClientMaxWindowBits
)

// deflateResponses holds every response negotiateDeflate can give, built
// on first use so that negotiation does not allocate, and in a fixed
// order so that equal agreements read the same. Index: the takeover bits
// (pmdServerNoContextTakeover|pmdClientNoContextTakeover), then the
// server's and the client's window bits, 0 when the response leaves them
// out, else 1 + bits - 8.
var deflateResponses = sync.OnceValue(func() (r *[4][9][9]string) {
	r = new([4][9][9]string)
	for set := range r {
		for sb := range r[set] {
			for cb := range r[set][sb] {
				s := "permessage-deflate"
				if set&pmdServerNoContextTakeover != 0 {
					s += "; server_no_context_takeover"
				}
				if set&pmdClientNoContextTakeover != 0 {
					s += "; client_no_context_takeover"
				}
				if sb > 0 {
					s += "; server_max_window_bits=" + strconv.Itoa(sb+7)
				}
				if cb > 0 {
					s += "; client_max_window_bits=" + strconv.Itoa(cb+7)
				}
				r[set][sb][cb] = s
			}
		}
	}
	return r
})

// deflateResponse is the response that says set (takeover bits only),
// serverBits and clientBits, each 0 when the response leaves it out.
func deflateResponse(set, serverBits, clientBits int) string {
	idx := func(bits int) int {
		if bits == 0 {
			return 0
		}
		return bits - 7
	}
	return deflateResponses()[set&(pmdServerNoContextTakeover|pmdClientNoContextTakeover)][idx(serverBits)][idx(clientBits)]
}

// negotiateDeflate accepts the first permessage-deflate offer, the
// client's order being its preference (RFC 7692 §5), that is valid: every
// valid offer can be honoured, since the compressor takes any window from
// 8 to 15 bits. It returns the agreed parameters and the
// Sec-WebSocket-Extensions value to answer with, or ok=false if no offer
// is valid; the connection then goes ahead without compression, as a
// server declines an extension by leaving it out of its response (RFC 6455
// §9.1). Other extensions are skipped: this server supports none, so none
// can conflict over RSV1 (RFC 7692 §5).
//
// What the response says, beyond what acceptDeflate requires of it:
//   - server_no_context_takeover when cfg says so (§7.1.1.1 lets the
//     server declare it unasked); client_no_context_takeover likewise
//     (§7.1.1.2), after which the client keeps no context and the server
//     no history.
//   - client_max_window_bits=N when the client keeps its context, offered
//     client_max_window_bits, and did not already promise a window no
//     larger than cfg asks for (§7.1.2.2): N is cfg's, or the client's
//     own value if smaller. The server's history is then 2^N bytes.
//   - server_max_window_bits only when offered (§7.1.2.1), with the
//     window the server will use: the offer's, or cfg's if smaller. When
//     not offered, the server still compresses with cfg's window, which
//     any inflater accepts.
func negotiateDeflate(offers []extensionOffer, cfg deflateConfig) (params deflateParams, response string, ok bool) {
	serverBits, clientBits := cfg.serverMaxWindowBits, cfg.clientMaxWindowBits
	if serverBits == 0 {
		serverBits = 15
	}
	if clientBits == 0 {
		clientBits = 15
	}
	for _, o := range offers {
		if o.name != "permessage-deflate" {
			continue
		}
		p, set, accepted := acceptDeflate(o.params)
		if !accepted {
			continue
		}
		if cfg.serverNoContextTakeover {
			p.serverNoContextTakeover = true
			set |= pmdServerNoContextTakeover
		}
		if cfg.clientNoContextTakeover {
			p.clientNoContextTakeover = true
			set |= pmdClientNoContextTakeover
		}
		p.serverMaxWindowBits = min(p.serverMaxWindowBits, serverBits)
		respServer, respClient := 0, 0
		if set&pmdServerMaxWindowBits != 0 {
			respServer = p.serverMaxWindowBits
		}
		if set&pmdClientMaxWindowBits != 0 && !p.clientNoContextTakeover && clientBits < p.clientMaxWindowBits {
			p.clientMaxWindowBits = clientBits
			respClient = clientBits
		}
		return p, deflateResponse(set, respServer, respClient), true
	}
	return deflateParams{}, "", false
}

// acceptDeflate checks one permessage-deflate offer. RFC 7692 §7 has the
// server decline an offer with an unknown parameter, an invalid value or a
// repeated parameter; there is no configuration this server cannot
// support. It returns what the offer asks for and the set of parameters it
// named:
//
//   - server_no_context_takeover (§7.1.1.1) must be echoed to be accepted.
//   - client_no_context_takeover (§7.1.1.2) is echoed though the server may
//     ignore it: offered, it is only the client's promise to reset its
//     context, and only in the response does it bind the client, letting our
//     inflater drop its history between messages. It costs the client
//     nothing it did not already give up.
//   - server_max_window_bits=N (§7.1.2.1) is accepted "by including [it] in
//     the response ... with the same or smaller value", after which the
//     server must not use a larger window: the compressor takes any window
//     from 8 to 15 bits, so every value is honoured.
//   - client_max_window_bits (§7.1.2.2) says the client can take a limit on
//     its window; a value, if given, is the most the client will use even
//     if the response says nothing, and is recorded.
func acceptDeflate(offered []extensionParam) (params deflateParams, set int, ok bool) {
	params.serverMaxWindowBits = 15
	params.clientMaxWindowBits = 15
	for _, p := range offered {
		var bit int
		switch p.name {
		case "server_no_context_takeover":
			bit = pmdServerNoContextTakeover
			params.serverNoContextTakeover = true
			ok = !p.hasValue
		case "client_no_context_takeover":
			bit = pmdClientNoContextTakeover
			params.clientNoContextTakeover = true
			ok = !p.hasValue
		case "server_max_window_bits":
			bit = pmdServerMaxWindowBits
			params.serverMaxWindowBits, ok = p.windowBits()
			ok = ok && p.hasValue
		case "client_max_window_bits":
			bit = pmdClientMaxWindowBits
			ok = true
			if p.hasValue {
				params.clientMaxWindowBits, ok = p.windowBits()
			}
		default:
			ok = false
		}
		if !ok || set&bit != 0 {
			return deflateParams{}, 0, false
		}
		set |= bit
	}
	return params, set, true
}

// windowBits parses a window size parameter's value: "a decimal integer value
// without leading zeroes between 8 to 15, inclusive" (RFC 7692 §7.1.2).
func (p extensionParam) windowBits() (int, bool) {
	switch v := p.value; {
	case len(v) == 1 && '8' <= v[0] && v[0] <= '9':
		return int(v[0] - '0'), true
	case len(v) == 2 && v[0] == '1' && '0' <= v[1] && v[1] <= '5':
		return 10 + int(v[1]-'0'), true
	}
	return 0, false
}
