package main

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// permessage-deflate (RFC 7692) for sections 12 and 13: the offers the
// client makes, the check of the server's answer, and the compression and
// inflation of messages.

// deflateOffer is one permessage-deflate offer, as Autobahn's
// PerMessageDeflateOffer writes it, in the client role; in the fuzzingserver
// role the same pair is what the suite's server asks of the client when it
// accepts the client's offer (Autobahn's accept functions of 12.x and 13.x).
// Autobahn's cases always offer client_no_context_takeover and
// client_max_window_bits (without a value): the client can take both if the
// server asks. They differ in what they ask of the peer's compressor.
type deflateOffer struct {
	// peerNoContextTakeover asks the peer to reset its compressor after each
	// message: server_no_context_takeover in the client role's offer,
	// client_no_context_takeover in the server role's answer.
	peerNoContextTakeover bool
	// peerMaxWindowBits asks the peer for a window of at most 2^n octets, 0
	// for no limit: server_max_window_bits in the client role's offer,
	// client_max_window_bits in the server role's answer.
	peerMaxWindowBits int
}

// String is the offer as it goes into Sec-WebSocket-Extensions (client role).
func (o deflateOffer) String() string {
	s := "permessage-deflate; client_no_context_takeover; client_max_window_bits"
	if o.peerNoContextTakeover {
		s += "; server_no_context_takeover"
	}
	if o.peerMaxWindowBits != 0 {
		s += fmt.Sprintf("; server_max_window_bits=%d", o.peerMaxWindowBits)
	}
	return s
}

// offerHeader is the Sec-WebSocket-Extensions value for a list of offers,
// the client's preferred first; empty for none.
func offerHeader(offers []deflateOffer) string {
	parts := make([]string, len(offers))
	for i, o := range offers {
		parts[i] = o.String()
	}
	return strings.Join(parts, ", ")
}

// deflateParams is what the server's response agreed.
//
// The fields are named from the client role's side, where the suite is the
// client: the compressor follows client_*, the inflater server_*. In the
// fuzzingserver role the suite keeps the real agreement for its report and
// builds its codecs from swapped().
type deflateParams struct {
	serverNoContextTakeover bool // the server resets its compressor: so may our inflater
	clientNoContextTakeover bool // we must reset our compressor after each message
	serverMaxWindowBits     int  // 8..15; the window of what we inflate
	clientMaxWindowBits     int  // 8..15; the window we may compress with
}

// swapped is p seen from the server's side: what the server compresses
// under in the client_* fields, what it inflates under in the server_*
// fields, so that newDeflater and newInflater serve either role.
func (p deflateParams) swapped() deflateParams {
	return deflateParams{
		serverNoContextTakeover: p.clientNoContextTakeover,
		clientNoContextTakeover: p.serverNoContextTakeover,
		serverMaxWindowBits:     p.clientMaxWindowBits,
		clientMaxWindowBits:     p.serverMaxWindowBits,
	}
}

func (p deflateParams) String() string {
	return fmt.Sprintf("server_no_context_takeover=%v client_no_context_takeover=%v server_max_window_bits=%d client_max_window_bits=%d",
		p.serverNoContextTakeover, p.clientNoContextTakeover, p.serverMaxWindowBits, p.clientMaxWindowBits)
}

// extensionParam is one parameter of an extension in a header.
type extensionParam struct {
	name, value string
	hasValue    bool
}

// parseExtensions splits Sec-WebSocket-Extensions values (RFC 6455 section
// 9.1) into extensions and their parameters. Quoted values are unquoted;
// a quoted comma or semicolon is not supported (no parameter of
// permessage-deflate needs one).
func parseExtensions(values []string) (names []string, params [][]extensionParam, err error) {
	for _, v := range values {
		for _, ext := range strings.Split(v, ",") {
			parts := strings.Split(ext, ";")
			name := strings.TrimSpace(parts[0])
			if name == "" {
				return nil, nil, fmt.Errorf("empty extension in %q", v)
			}
			var ps []extensionParam
			for _, p := range parts[1:] {
				k, val, has := strings.Cut(p, "=")
				k, val = strings.TrimSpace(k), strings.TrimSpace(val)
				if has && len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
					val = val[1 : len(val)-1]
				}
				if k == "" {
					return nil, nil, fmt.Errorf("empty parameter in extension %q", name)
				}
				ps = append(ps, extensionParam{name: strings.ToLower(k), value: val, hasValue: has})
			}
			names = append(names, strings.ToLower(name))
			params = append(params, ps)
		}
	}
	return names, params, nil
}

// windowBits parses a max_window_bits value: a decimal integer from 8 to
// 15 without leading zeroes (RFC 7692 section 7.1.2).
func windowBits(v string) (int, bool) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 8 || n > 15 || v != strconv.Itoa(n) {
		return 0, false
	}
	return n, true
}

// errNoCompression: the response agreed no extension.
var errNoCompression = errors.New("no extension agreed")

// negotiate checks the server's Sec-WebSocket-Extensions values against the
// offers made and returns what was agreed. RFC 7692 section 7 has the
// client fail the connection when the response has a parameter not defined
// for a response, an invalid value, a parameter twice, or a configuration
// the client did not offer; and RFC 6455 section 9.1 when it names an
// extension the client did not offer. It returns errNoCompression when the
// server agreed none (the case is then UNIMPLEMENTED, as in Autobahn).
func negotiate(offers []deflateOffer, values []string) (deflateParams, error) {
	names, params, err := parseExtensions(values)
	if err != nil {
		return deflateParams{}, err
	}
	if len(names) == 0 {
		return deflateParams{}, errNoCompression
	}
	if len(values) > 1 {
		return deflateParams{}, errors.New("Sec-WebSocket-Extensions appears more than once in the response")
	}
	for _, n := range names {
		if n != "permessage-deflate" || len(offers) == 0 {
			return deflateParams{}, fmt.Errorf("server accepted extension %q, which the client did not offer", n)
		}
	}
	if len(names) > 1 {
		return deflateParams{}, errors.New("server accepted permessage-deflate more than once")
	}

	agreed := deflateParams{serverMaxWindowBits: 15, clientMaxWindowBits: 15}
	seen := map[string]bool{}
	for _, p := range params[0] {
		if seen[p.name] {
			return deflateParams{}, fmt.Errorf("parameter %s appears twice", p.name)
		}
		seen[p.name] = true
		switch p.name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if p.hasValue {
				return deflateParams{}, fmt.Errorf("parameter %s has a value (%q)", p.name, p.value)
			}
			if p.name == "server_no_context_takeover" {
				agreed.serverNoContextTakeover = true
			} else {
				agreed.clientNoContextTakeover = true
			}
		case "server_max_window_bits", "client_max_window_bits":
			bits, ok := windowBits(p.value)
			if !p.hasValue || !ok {
				return deflateParams{}, fmt.Errorf("parameter %s needs a value from 8 to 15, got %q", p.name, p.value)
			}
			if p.name == "server_max_window_bits" {
				agreed.serverMaxWindowBits = bits
			} else {
				agreed.clientMaxWindowBits = bits
			}
		default:
			return deflateParams{}, fmt.Errorf("parameter %q is not defined for permessage-deflate", p.name)
		}
	}
	// The response must accept one of the offers. Every offer allows the
	// server to ask for client_no_context_takeover and client_max_window_bits
	// (both offered), to declare server_no_context_takeover, and to limit
	// its own window unasked (sections 7.1.1.1, 7.1.2.1). An offer that
	// asks server_no_context_takeover or server_max_window_bits=N is only
	// accepted by a response that has the former, and the latter with a
	// value of at most N.
	for _, o := range offers {
		if o.peerNoContextTakeover && !agreed.serverNoContextTakeover {
			continue
		}
		if o.peerMaxWindowBits != 0 && (!seen["server_max_window_bits"] || agreed.serverMaxWindowBits > o.peerMaxWindowBits) {
			continue
		}
		return agreed, nil
	}
	return deflateParams{}, errors.New("the response accepts none of the offers")
}

// clientOffer is one permessage-deflate offer a client made, as the
// fuzzingserver role reads it (Autobahn's PerMessageDeflateOffer.parse).
type clientOffer struct {
	// acceptNoContextTakeover: the offer has client_no_context_takeover,
	// so the client can reset its compressor if the server asks.
	acceptNoContextTakeover bool
	// acceptMaxWindowBits: the offer has client_max_window_bits, with or
	// without a value, so the client can limit its window if asked.
	acceptMaxWindowBits bool
	// requestNoContextTakeover: server_no_context_takeover, asked of us.
	requestNoContextTakeover bool
	// requestMaxWindowBits: server_max_window_bits=N, asked of us; 0 none.
	requestMaxWindowBits int
}

// parseClientOffers returns the permessage-deflate offers in a client's
// Sec-WebSocket-Extensions, in its order of preference; other extensions
// are left out (the suite supports none). As in Autobahn's server, an
// offer with a parameter RFC 7692 does not define for an offer, a value
// out of range or a parameter given twice fails the opening handshake:
// a client is not expected to send one.
func parseClientOffers(values []string) ([]clientOffer, error) {
	names, params, err := parseExtensions(values)
	if err != nil {
		return nil, err
	}
	var offers []clientOffer
	for i, name := range names {
		if name != "permessage-deflate" {
			continue
		}
		var o clientOffer
		seen := map[string]bool{}
		for _, p := range params[i] {
			if seen[p.name] {
				return nil, fmt.Errorf("permessage-deflate offer: parameter %s appears twice", p.name)
			}
			seen[p.name] = true
			switch p.name {
			case "client_no_context_takeover", "server_no_context_takeover":
				if p.hasValue {
					return nil, fmt.Errorf("permessage-deflate offer: parameter %s has a value (%q)", p.name, p.value)
				}
				if p.name == "client_no_context_takeover" {
					o.acceptNoContextTakeover = true
				} else {
					o.requestNoContextTakeover = true
				}
			case "client_max_window_bits":
				// The value, if any, is a hint the server may ignore
				// (RFC 7692 section 7.1.2.2); Autobahn ignores it.
				if _, ok := windowBits(p.value); p.hasValue && !ok {
					return nil, fmt.Errorf("permessage-deflate offer: client_max_window_bits=%q is not from 8 to 15", p.value)
				}
				o.acceptMaxWindowBits = true
			case "server_max_window_bits":
				bits, ok := windowBits(p.value)
				if !p.hasValue || !ok {
					return nil, fmt.Errorf("permessage-deflate offer: server_max_window_bits needs a value from 8 to 15, got %q", p.value)
				}
				o.requestMaxWindowBits = bits
			default:
				return nil, fmt.Errorf("permessage-deflate offer: parameter %q is not defined for an offer", p.name)
			}
		}
		offers = append(offers, o)
	}
	return offers, nil
}

// acceptOffer is the fuzzingserver role's answer to a client's offers,
// Autobahn's accept functions of 12.x and 13.x: for each of the case's
// requests in turn (13.7 has three), the first offer that can take it is
// accepted. A request for client_no_context_takeover or a
// client_max_window_bits needs an offer that has that parameter. The
// answer honours what the offer asks of the server
// (server_no_context_takeover, server_max_window_bits) and adds what the
// request asks of the client. It reports false, declining every offer,
// when no offer can take any request or the case makes none.
func acceptOffer(requests []deflateOffer, offers []clientOffer) (deflateParams, string, bool) {
	for _, r := range requests {
		for _, o := range offers {
			if r.peerNoContextTakeover && !o.acceptNoContextTakeover {
				continue
			}
			if r.peerMaxWindowBits != 0 && !o.acceptMaxWindowBits {
				continue
			}
			p := deflateParams{serverMaxWindowBits: 15, clientMaxWindowBits: 15}
			answer := "permessage-deflate"
			if o.requestNoContextTakeover {
				p.serverNoContextTakeover = true
				answer += "; server_no_context_takeover"
			}
			if o.requestMaxWindowBits != 0 {
				p.serverMaxWindowBits = o.requestMaxWindowBits
				answer += fmt.Sprintf("; server_max_window_bits=%d", o.requestMaxWindowBits)
			}
			if r.peerNoContextTakeover {
				p.clientNoContextTakeover = true
				answer += "; client_no_context_takeover"
			}
			if r.peerMaxWindowBits != 0 {
				p.clientMaxWindowBits = r.peerMaxWindowBits
				answer += fmt.Sprintf("; client_max_window_bits=%d", r.peerMaxWindowBits)
			}
			return p, answer, true
		}
	}
	return deflateParams{}, "", false
}

// acceptDescription says, for a report of the server role, which client
// offers acceptOffer takes for a case's requests and what it answers.
func acceptDescription(requests []deflateOffer) string {
	parts := make([]string, len(requests))
	for i, r := range requests {
		var asks []string
		if r.peerNoContextTakeover {
			asks = append(asks, "client_no_context_takeover")
		}
		if r.peerMaxWindowBits != 0 {
			asks = append(asks, fmt.Sprintf("client_max_window_bits=%d", r.peerMaxWindowBits))
		}
		if len(asks) == 0 {
			parts[i] = "the client's first permessage-deflate offer, as it is"
		} else {
			parts[i] = "the first offer that allows it, answered with " + strings.Join(asks, "; ")
		}
	}
	return strings.Join(parts, "; failing that, ")
}

// deflateTail is what a sender strips from the end of a compressed message
// (RFC 7692 section 7.2.1): the empty stored block of a sync flush.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// finalBlock is an empty stored block with BFINAL set. Appended after the
// restored tail, it ends the DEFLATE stream there, so the inflater reports
// io.EOF exactly at the end of a complete message.
var finalBlock = []byte{0x01, 0x00, 0x00, 0xff, 0xff}

// maxInflated bounds an inflated message, as maxIncomingPayload bounds a
// frame: the largest echo the cases ask for is 128 KiB.
const maxInflated = 256 << 20

// historySize is the most history a DEFLATE back-reference can reach.
const historySize = 32 << 10

// deflater compresses the client's messages under the agreed parameters.
type deflater struct {
	w           *flate.Writer
	buf         bytes.Buffer
	noTakeover  bool
	huffmanOnly bool
}

// clientLevel is the level the client compresses with. Autobahn uses
// zlib's default (6); compress/flate at level 6 is several times slower than
// at BestSpeed, and any level produces the same kind of stream for the
// server: dynamic Huffman blocks with back-references.
const clientLevel = flate.BestSpeed

func newDeflater(p deflateParams) *deflater {
	d := &deflater{noTakeover: p.clientNoContextTakeover}
	level := clientLevel
	if p.clientMaxWindowBits < 15 {
		// compress/flate always uses a 32 KiB window. Huffman-only output
		// has no back-references at all, so it is valid for any window.
		level = flate.HuffmanOnly
		d.huffmanOnly = true
	}
	d.w, _ = flate.NewWriter(&d.buf, level) // the level is valid
	return d
}

// compress returns the message's payload as sent: compressed, sync-flushed
// and without the trailing 00 00 ff ff.
func (d *deflater) compress(msg []byte) []byte {
	d.buf.Reset()
	if d.noTakeover {
		d.w.Reset(&d.buf)
	}
	d.w.Write(msg)
	d.w.Flush()
	out := d.buf.Bytes()
	if !bytes.HasSuffix(out, deflateTail) {
		panic("compress/flate: sync flush without its marker") // never: Flush always ends with it
	}
	return bytes.Clone(out[:len(out)-len(deflateTail)])
}

// inflater inflates the server's compressed messages, keeping the last
// 32 KiB of what it inflated as the dictionary of the next message unless
// the server resets its compressor (server_no_context_takeover).
type inflater struct {
	r          io.ReadCloser
	src        bytes.Reader
	history    []byte
	noTakeover bool
}

func newInflater(p deflateParams) *inflater {
	return &inflater{noTakeover: p.serverNoContextTakeover}
}

// errTooLarge: an inflated message above maxInflated.
var errTooLarge = fmt.Errorf("inflated message exceeds %d octets", maxInflated)

// inflate returns the message a compressed payload carries.
func (in *inflater) inflate(payload []byte) ([]byte, error) {
	data := make([]byte, 0, len(payload)+len(deflateTail)+len(finalBlock))
	data = append(append(append(data, payload...), deflateTail...), finalBlock...)
	in.src.Reset(data)
	var dict []byte
	if !in.noTakeover {
		dict = in.history
	}
	if in.r == nil {
		in.r = flate.NewReaderDict(&in.src, dict)
	} else if err := in.r.(flate.Resetter).Reset(&in.src, dict); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(4 * len(payload))
	n, err := out.ReadFrom(io.LimitReader(in.r, maxInflated+1))
	if err != nil {
		return nil, err
	}
	if n > maxInflated {
		return nil, errTooLarge
	}
	// A sender may end a message with a block of its own that has BFINAL
	// set (RFC 7692 section 7.2.3.4); what we appended then goes unread.
	// Anything of the message after such a block would be lost.
	if left := in.src.Len(); left != 0 && left != len(deflateTail)+len(finalBlock) {
		return nil, errors.New("data follows the final DEFLATE block")
	}
	msg := out.Bytes()
	if !in.noTakeover {
		if len(msg) >= historySize {
			in.history = append(in.history[:0], msg[len(msg)-historySize:]...)
		} else {
			keep := max(0, len(in.history)+len(msg)-historySize)
			in.history = append(in.history[keep:], msg...)
		}
	}
	return msg, nil
}
