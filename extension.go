package websocket

import (
	"fmt"
	"strings"
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
}

// deflateParams is what was agreed for one connection.
type deflateParams struct {
	serverNoContextTakeover bool // server resets its compressor after each message
	clientNoContextTakeover bool // client resets its compressor after each message (our inflater may reset too)
	clientMaxWindowBits     int  // 8..15, the client's LZ77 window (15 when not limited)
}

// The permessage-deflate parameters (RFC 7692 §7.1), as bits: an offer's
// set of parameters, to catch repeats, and a response's, to index
// deflateResponses.
const (
	pmdServerNoContextTakeover = 1 << iota
	pmdClientNoContextTakeover
	pmdServerMaxWindowBits // only ever 15 in a response
	pmdClientMaxWindowBits // never in a response
)

// deflateResponses holds the response for each set of parameters a response
// can carry: any but client_max_window_bits, the highest bit. They are built
// once so negotiation does not allocate, in a fixed order so that equal
// agreements read the same.
var deflateResponses = func() (r [pmdClientMaxWindowBits]string) {
	for set := range r {
		s := "permessage-deflate"
		if set&pmdServerNoContextTakeover != 0 {
			s += "; server_no_context_takeover"
		}
		if set&pmdClientNoContextTakeover != 0 {
			s += "; client_no_context_takeover"
		}
		if set&pmdServerMaxWindowBits != 0 {
			s += "; server_max_window_bits=15"
		}
		r[set] = s
	}
	return r
}()

// negotiateDeflate accepts the first permessage-deflate offer the server can
// honour, the client's order being its preference (RFC 7692 §5). It returns
// the agreed parameters and the Sec-WebSocket-Extensions value to answer
// with, or ok=false if no offer is acceptable; the connection then goes ahead
// without compression, as a server declines an extension by leaving it out
// of its response (RFC 6455 §9.1). Other extensions are skipped: this server
// supports none, so none can conflict over RSV1 (RFC 7692 §5).
func negotiateDeflate(offers []extensionOffer, cfg deflateConfig) (params deflateParams, response string, ok bool) {
	for _, o := range offers {
		if o.name != "permessage-deflate" {
			continue
		}
		p, set, accepted := acceptDeflate(o.params)
		if !accepted {
			continue
		}
		if cfg.serverNoContextTakeover {
			// RFC 7692 §7.1.1.1 lets the server declare this unasked.
			p.serverNoContextTakeover = true
			set |= pmdServerNoContextTakeover
		}
		return p, deflateResponses[set&^pmdClientMaxWindowBits], true
	}
	return deflateParams{}, "", false
}

// acceptDeflate checks one permessage-deflate offer. RFC 7692 §7 has the
// server decline an offer with an unknown parameter, an invalid value, a
// repeated parameter, or a configuration it does not support. Otherwise it
// returns what was agreed and the set of parameters the offer named, every
// one of which, but client_max_window_bits, the response echoes:
//
//   - server_no_context_takeover (§7.1.1.1) must be echoed to be accepted.
//   - client_no_context_takeover (§7.1.1.2) is echoed though the server may
//     ignore it: offered, it is only the client's promise to reset its
//     context, and only in the response does it bind the client, letting our
//     inflater drop its 32 KiB window between messages. It costs the client
//     nothing it did not already give up. Whether the server also imposes
//     it unasked, as §7.1.1.2 allows, is a matter of configuration, not of
//     the offer: agreeDeflate does so unless PeerContextTakeover is set.
//   - server_max_window_bits (§7.1.2.1) is accepted "by including [it] in
//     the response ... with the same or smaller value", after which the
//     server must not use a larger window. compress/flate always uses a
//     32 KiB window and cannot be made to use less, so only 15 can be
//     honoured, and it is echoed as the RFC words acceptance; a smaller
//     value declines the offer.
//   - client_max_window_bits (§7.1.2.2) says the client can take a limit on
//     its window. compress/flate inflates any window up to 32 KiB, so the
//     server never sets one and leaves it out of the response; a value, if
//     given, is the most the client will use, and is recorded.
func acceptDeflate(offered []extensionParam) (params deflateParams, set int, ok bool) {
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
			bits, valid := p.windowBits()
			ok = p.hasValue && valid && bits == 15
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
