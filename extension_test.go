package websocket

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Shorthands for expected parse results.
func wantFlag(name string) extensionParam { return extensionParam{name: name} }
func wantParam(name, v string) extensionParam {
	return extensionParam{name: name, value: v, hasValue: true}
}
func wantOffer(name string, params ...extensionParam) extensionOffer {
	return extensionOffer{name: name, params: params}
}

func TestParseExtensions(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   []extensionOffer
	}{
		{"no header", nil, nil},
		{"empty value", []string{""}, nil},
		{"only empty elements", []string{" , ,\t,", ""}, nil},
		{"firefox", []string{"permessage-deflate"}, []extensionOffer{wantOffer("permessage-deflate")}},
		{"chrome", []string{"permessage-deflate; client_max_window_bits"},
			[]extensionOffer{wantOffer("permessage-deflate", wantFlag("client_max_window_bits"))}},
		{"old safari", []string{"x-webkit-deflate-frame"}, []extensionOffer{wantOffer("x-webkit-deflate-frame")}},
		{"several offers", []string{"permessage-deflate; server_max_window_bits=10, permessage-deflate"},
			[]extensionOffer{
				wantOffer("permessage-deflate", wantParam("server_max_window_bits", "10")),
				wantOffer("permessage-deflate"),
			}},
		{"several lines", []string{"foo", "bar; a=1; b, baz", "qux"},
			[]extensionOffer{wantOffer("foo"), wantOffer("bar", wantParam("a", "1"), wantFlag("b")), wantOffer("baz"), wantOffer("qux")}},
		{"no whitespace", []string{"a;b=1;c,d"},
			[]extensionOffer{wantOffer("a", wantParam("b", "1"), wantFlag("c")), wantOffer("d")}},
		{"whitespace everywhere", []string{" \ta \t; \t b \t= \t 1 \t; c\t,\t d \t"},
			[]extensionOffer{wantOffer("a", wantParam("b", "1"), wantFlag("c")), wantOffer("d")}},
		{"empty elements", []string{",a,, ,b,", ","},
			[]extensionOffer{wantOffer("a"), wantOffer("b")}},
		{"quoted value", []string{`a; b="15"`}, []extensionOffer{wantOffer("a", wantParam("b", "15"))}},
		{"quoted value with escapes", []string{`a; b="\1\5"; c="x\y"`},
			[]extensionOffer{wantOffer("a", wantParam("b", "15"), wantParam("c", "xy"))}},
		{"quoted value then more", []string{`a; b = "1" ; c, d`},
			[]extensionOffer{wantOffer("a", wantParam("b", "1"), wantFlag("c")), wantOffer("d")}},
		{"every tchar", []string{"!#$%&'*+-.^_`|~09AZaz; !#$%&'*+-.^_`|~=\"!#$%&'*+-.^_`|~\""},
			[]extensionOffer{wantOffer("!#$%&'*+-.^_`|~09AZaz", wantParam("!#$%&'*+-.^_`|~", "!#$%&'*+-.^_`|~"))}},
		{"repeated parameter kept", []string{"a; b; b=2"}, []extensionOffer{wantOffer("a", wantFlag("b"), wantParam("b", "2"))}},
		{"names kept as sent", []string{"PerMessage-Deflate; Client_Max_Window_Bits"},
			[]extensionOffer{wantOffer("PerMessage-Deflate", wantFlag("Client_Max_Window_Bits"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseExtensions(tt.values)
			if err != nil {
				t.Fatalf("parseExtensions(%q): %v", tt.values, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseExtensions(%q)\n got %+v\nwant %+v", tt.values, got, tt.want)
			}
		})
	}
}

var malformedExtensions = []string{
	"; a",        // no extension name
	"a;",         // no parameter after ';'
	"a; ;b",      // empty parameter
	"a; =1",      // no parameter name
	"a; b=",      // no value after '='
	"a; b= ,c",   // likewise
	"a=1",        // a value on the extension itself
	"a b",        // two tokens
	"a; b c",     // likewise in a parameter
	"a; b=1 2",   // likewise in a value
	"a; b=1=2",   // a second '='
	`"a"`,        // a quoted name
	`a; "b"=1`,   // a quoted parameter name
	`a; b=""`,    // an empty quoted value is no token (RFC 6455 §4.3)
	`a; b="1 5"`, // nor is one with a space
	`a; b="1,5"`, // or a comma
	`a; b="\""`,  // or an escaped quote
	`a; b="\\"`,  // or an escaped backslash
	`a; b="15`,   // unterminated
	`a; b="15\`,  // unterminated inside an escape
	`a; b="15"x`, // junk after the closing quote
	"a; b=1\x00", // a NUL
	"a\r\n b",    // a line fold
	"a; b=\xff",  // a non-ASCII byte
	"permessage-déflate",
	"a(b)", // separators (RFC 7230 §3.2.6)
	"a; b={15}",
	"a/b",
}

func TestParseExtensionsMalformed(t *testing.T) {
	for _, h := range malformedExtensions {
		// The whole header is invalid, even when a good line precedes
		// the bad one.
		for _, values := range [][]string{{h}, {"permessage-deflate", h}} {
			got, err := parseExtensions(values)
			if err == nil || got != nil {
				t.Errorf("parseExtensions(%q) = %+v, %v; want nil and an error", values, got, err)
			}
		}
	}
}

func TestParseExtensionsErrorOmitsHeader(t *testing.T) {
	h := "permessage-deflate; " + strings.Repeat("x", 4096) + "="
	_, err := parseExtensions([]string{h})
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error = %v; want a short error", err)
	}
}

func TestParseExtensionsAllocs(t *testing.T) {
	for _, tt := range []struct {
		header string
		allocs float64
	}{
		{"", 0},
		{"permessage-deflate", 1}, // the offers
		{"permessage-deflate; client_max_window_bits", 2}, // and the params
		{"permessage-deflate; server_max_window_bits=10, permessage-deflate; client_max_window_bits", 2},
		{`permessage-deflate; server_max_window_bits="1\5"`, 3}, // and the unescaped value
	} {
		values := []string{tt.header}
		if got := testing.AllocsPerRun(100, func() { parseExtensions(values) }); got != tt.allocs {
			t.Errorf("parseExtensions(%q): %v allocations, want %v", tt.header, got, tt.allocs)
		}
	}
}

func TestNegotiateDeflate(t *testing.T) {
	const (
		pmd  = "permessage-deflate"
		sNCT = "; server_no_context_takeover"
		cNCT = "; client_no_context_takeover"
		sMWB = "; server_max_window_bits=15"
	)
	defaults := deflateParams{serverMaxWindowBits: 15, clientMaxWindowBits: 15}
	with := func(f func(p *deflateParams)) deflateParams {
		p := defaults
		f(&p)
		return p
	}
	// The library's defaults with takeover both ways, and without.
	lib := deflateConfig{serverMaxWindowBits: 13, clientMaxWindowBits: 13}
	libNoTakeover := deflateConfig{serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 13, clientMaxWindowBits: 13}
	tests := []struct {
		name     string
		header   string
		cfg      deflateConfig
		want     deflateParams
		response string // "" when declined
	}{
		// What browsers send.
		{name: "firefox", header: "permessage-deflate", want: defaults, response: pmd},
		{name: "chrome", header: "permessage-deflate; client_max_window_bits", want: defaults, response: pmd},
		{name: "old safari", header: "x-webkit-deflate-frame"},
		{name: "old safari then pmd", header: "x-webkit-deflate-frame, permessage-deflate", want: defaults, response: pmd},
		{name: "no offers", header: ""},
		{name: "other extensions only", header: "foo, bar; permessage-deflate"},
		{name: "name is case-sensitive", header: "Permessage-Deflate"},

		// ... to a server with the library's default windows: the
		// client's window is limited when its offer allows it.
		{name: "firefox, library windows", header: "permessage-deflate", cfg: lib,
			want: with(func(p *deflateParams) { p.serverMaxWindowBits = 13 }), response: pmd},
		{name: "chrome, library windows", header: "permessage-deflate; client_max_window_bits", cfg: lib,
			want:     deflateParams{serverMaxWindowBits: 13, clientMaxWindowBits: 13},
			response: pmd + "; client_max_window_bits=13"},
		{name: "chrome, library without takeover", header: "permessage-deflate; client_max_window_bits", cfg: libNoTakeover,
			want:     deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 13, clientMaxWindowBits: 15},
			response: pmd + sNCT + cNCT},
		{name: "client promises a smaller window", header: "permessage-deflate; client_max_window_bits=10", cfg: lib,
			want: deflateParams{serverMaxWindowBits: 13, clientMaxWindowBits: 10}, response: pmd},
		{name: "client promises a larger window", header: "permessage-deflate; client_max_window_bits=14", cfg: lib,
			want:     deflateParams{serverMaxWindowBits: 13, clientMaxWindowBits: 13},
			response: pmd + "; client_max_window_bits=13"},
		{name: "client asks a larger server window", header: pmd + "; server_max_window_bits=14", cfg: lib,
			want: with(func(p *deflateParams) { p.serverMaxWindowBits = 13 }), response: pmd + "; server_max_window_bits=13"},
		{name: "client asks a smaller server window", header: pmd + "; server_max_window_bits=9; client_max_window_bits", cfg: lib,
			want:     deflateParams{serverMaxWindowBits: 9, clientMaxWindowBits: 13},
			response: pmd + "; server_max_window_bits=9; client_max_window_bits=13"},
		{name: "autobahn 13.5", header: pmd + "; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=9", cfg: lib,
			want:     deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 15},
			response: pmd + sNCT + cNCT + "; server_max_window_bits=9"},
		{name: "window 8 asked of the client as 9", header: pmd + "; client_max_window_bits",
			cfg:      deflateConfig{serverMaxWindowBits: 8, clientMaxWindowBits: 9},
			want:     deflateParams{serverMaxWindowBits: 8, clientMaxWindowBits: 9},
			response: pmd + "; client_max_window_bits=9"},

		// server_no_context_takeover (§7.1.1.1).
		{name: "server no context takeover offered", header: pmd + sNCT,
			want: with(func(p *deflateParams) { p.serverNoContextTakeover = true }), response: pmd + sNCT},
		{name: "server no context takeover configured", header: pmd, cfg: deflateConfig{serverNoContextTakeover: true},
			want: with(func(p *deflateParams) { p.serverNoContextTakeover = true }), response: pmd + sNCT},
		{name: "server no context takeover both", header: pmd + sNCT, cfg: deflateConfig{serverNoContextTakeover: true},
			want: with(func(p *deflateParams) { p.serverNoContextTakeover = true }), response: pmd + sNCT},
		{name: "server no context takeover with a value", header: pmd + sNCT + "=1"},
		{name: "server no context takeover with a quoted value", header: pmd + sNCT + `="x"`},

		// client_no_context_takeover (§7.1.1.2): echoed when offered or configured.
		{name: "client no context takeover offered", header: pmd + cNCT,
			want: with(func(p *deflateParams) { p.clientNoContextTakeover = true }), response: pmd + cNCT},
		{name: "client no context takeover configured", header: pmd, cfg: deflateConfig{clientNoContextTakeover: true},
			want: with(func(p *deflateParams) { p.clientNoContextTakeover = true }), response: pmd + cNCT},
		{name: "client no context takeover with a value", header: pmd + cNCT + "=1"},

		// server_max_window_bits (§7.1.2.1): every valid value is honoured.
		{name: "server window 15", header: pmd + "; server_max_window_bits=15", want: defaults, response: pmd + sMWB},
		{name: "server window 15 quoted", header: pmd + `; server_max_window_bits="15"`, want: defaults, response: pmd + sMWB},
		{name: "server window 15 escaped", header: pmd + `; server_max_window_bits="1\5"`, want: defaults, response: pmd + sMWB},
		{name: "server window 8", header: pmd + "; server_max_window_bits=8",
			want: with(func(p *deflateParams) { p.serverMaxWindowBits = 8 }), response: pmd + "; server_max_window_bits=8"},
		{name: "server window 9", header: pmd + "; server_max_window_bits=9",
			want: with(func(p *deflateParams) { p.serverMaxWindowBits = 9 }), response: pmd + "; server_max_window_bits=9"},
		{name: "server window 10", header: pmd + "; server_max_window_bits=10",
			want: with(func(p *deflateParams) { p.serverMaxWindowBits = 10 }), response: pmd + "; server_max_window_bits=10"},
		{name: "server window 14", header: pmd + "; server_max_window_bits=14",
			want: with(func(p *deflateParams) { p.serverMaxWindowBits = 14 }), response: pmd + "; server_max_window_bits=14"},
		{name: "server window 14 with no context takeover", header: pmd + sNCT + "; server_max_window_bits=14",
			cfg:      deflateConfig{serverNoContextTakeover: true},
			want:     with(func(p *deflateParams) { p.serverNoContextTakeover, p.serverMaxWindowBits = true, 14 }),
			response: pmd + sNCT + "; server_max_window_bits=14"},
		{name: "server window without value", header: pmd + "; server_max_window_bits"},
		{name: "server window 16", header: pmd + "; server_max_window_bits=16"},
		{name: "server window 7", header: pmd + "; server_max_window_bits=7"},
		{name: "server window 0", header: pmd + "; server_max_window_bits=0"},
		{name: "server window leading zero", header: pmd + "; server_max_window_bits=015"},
		{name: "server window leading zero quoted", header: pmd + `; server_max_window_bits="015"`},
		{name: "server window hex", header: pmd + "; server_max_window_bits=0xf"},
		{name: "server window sign", header: pmd + "; server_max_window_bits=+15"},
		{name: "server window huge", header: pmd + "; server_max_window_bits=18446744073709551631"},

		// client_max_window_bits (§7.1.2.2): a value is recorded; with no
		// limit configured, nothing is answered.
		{name: "client window 8", header: pmd + "; client_max_window_bits=8",
			want: with(func(p *deflateParams) { p.clientMaxWindowBits = 8 }), response: pmd},
		{name: "client window 10", header: pmd + "; client_max_window_bits=10",
			want: with(func(p *deflateParams) { p.clientMaxWindowBits = 10 }), response: pmd},
		{name: "client window 15 quoted", header: pmd + `; client_max_window_bits="15"`, want: defaults, response: pmd},
		{name: "client window 7", header: pmd + "; client_max_window_bits=7"},
		{name: "client window 16", header: pmd + "; client_max_window_bits=16"},
		{name: "client window leading zero", header: pmd + "; client_max_window_bits=09"},
		{name: "client window leading zero 10", header: pmd + "; client_max_window_bits=010"},
		{name: "client window 05", header: pmd + "; client_max_window_bits=05"},
		{name: "client window not a number", header: pmd + "; client_max_window_bits=max"},

		// Unknown and repeated parameters (§7).
		{name: "unknown parameter", header: pmd + "; foo"},
		{name: "parameter names are case-sensitive", header: pmd + "; Client_Max_Window_Bits"},
		{name: "server_max_window_bits twice", header: pmd + sMWB + sMWB},
		{name: "client_max_window_bits twice", header: pmd + "; client_max_window_bits; client_max_window_bits=10"},
		{name: "server_no_context_takeover twice", header: pmd + sNCT + sNCT},
		{name: "client_no_context_takeover twice", header: pmd + cNCT + cNCT},

		// Everything at once, in the client's order; the response's is fixed.
		{name: "all parameters",
			header:   pmd + "; client_max_window_bits=12; server_max_window_bits=15" + cNCT + sNCT,
			want:     deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 12},
			response: pmd + sNCT + cNCT + sMWB},
		{name: "all parameters, library windows", cfg: lib,
			header:   pmd + "; client_max_window_bits; server_max_window_bits=11" + sNCT,
			want:     deflateParams{serverNoContextTakeover: true, serverMaxWindowBits: 11, clientMaxWindowBits: 13},
			response: pmd + sNCT + "; server_max_window_bits=11; client_max_window_bits=13"},

		// The first valid offer wins.
		{name: "invalid offer then valid", header: pmd + "; server_max_window_bits=16; client_max_window_bits, " + pmd + cNCT,
			want: with(func(p *deflateParams) { p.clientNoContextTakeover = true }), response: pmd + cNCT},
		{name: "unknown parameter then plain", header: pmd + "; foo=bar, " + pmd, want: defaults, response: pmd},
		{name: "two valid offers", header: pmd + sNCT + ", " + pmd, cfg: deflateConfig{},
			want: with(func(p *deflateParams) { p.serverNoContextTakeover = true }), response: pmd + sNCT},
		{name: "small window first", header: pmd + "; server_max_window_bits=9, " + pmd,
			want: with(func(p *deflateParams) { p.serverMaxWindowBits = 9 }), response: pmd + "; server_max_window_bits=9"},
		{name: "offers on separate lines", header: pmd + "; server_max_window_bits=7\n" + pmd + "; client_max_window_bits=9",
			want: with(func(p *deflateParams) { p.clientMaxWindowBits = 9 }), response: pmd},
		{name: "all offers declined", header: pmd + "; server_max_window_bits=16, " + pmd + "; x, " + pmd + sNCT + "=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offers, err := parseExtensions(strings.Split(tt.header, "\n"))
			if err != nil {
				t.Fatalf("parseExtensions(%q): %v", tt.header, err)
			}
			params, response, ok := negotiateDeflate(offers, tt.cfg)
			if ok != (tt.response != "") || params != tt.want || response != tt.response {
				t.Errorf("negotiateDeflate(%q, %+v)\n got %+v, %q, %v\nwant %+v, %q, %v",
					tt.header, tt.cfg, params, response, ok, tt.want, tt.response, tt.response != "")
			}
		})
	}
}

func TestNegotiateDeflateAllocs(t *testing.T) {
	offers, err := parseExtensions([]string{"x-webkit-deflate-frame, permessage-deflate; client_max_window_bits"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := deflateConfig{serverNoContextTakeover: true}
	if n := testing.AllocsPerRun(100, func() { negotiateDeflate(offers, cfg) }); n != 0 {
		t.Errorf("negotiateDeflate: %v allocations, want 0", n)
	}
}

// FuzzParseExtensions feeds arbitrary headers, one line per "\n", to
// parseExtensions and negotiateDeflate, and checks that what they return is
// consistent: a parse round-trips, and an accepted negotiation agrees with a
// plain reading of RFC 7692 §7 and answers with a response that a client
// would read back as exactly what was agreed.
func FuzzParseExtensions(f *testing.F) {
	for _, h := range malformedExtensions {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		values := strings.Split(header, "\n")
		offers, err := parseExtensions(values)
		if err != nil {
			if offers != nil {
				t.Fatalf("parseExtensions(%q) returned offers with error %v", values, err)
			}
			return
		}
		checkParsedExtensions(t, values, offers)
		for _, cfg := range []deflateConfig{{}, {serverNoContextTakeover: true}, {clientNoContextTakeover: true, serverMaxWindowBits: 10},
			{serverMaxWindowBits: 13, clientMaxWindowBits: 13}, {serverMaxWindowBits: 8, clientMaxWindowBits: 9}} {
			params, response, ok := negotiateDeflate(offers, cfg)
			checkNegotiatedDeflate(t, offers, cfg, params, response, ok)
		}
	})
}

// checkParsedExtensions checks that offers hold only tokens, are no more than the
// separators in values allow, and print back to a header that parses the
// same.
func checkParsedExtensions(t *testing.T, values []string, offers []extensionOffer) {
	t.Helper()
	commas, semicolons := 0, 0
	for _, v := range values {
		commas += strings.Count(v, ",")
		semicolons += strings.Count(v, ";")
	}
	params := 0
	var b strings.Builder
	for i, o := range offers {
		params += len(o.params)
		if !isExtToken(o.name) {
			t.Fatalf("offer %d: name %q is not a token", i, o.name)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(o.name)
		for _, p := range o.params {
			if !isExtToken(p.name) || p.hasValue != (p.value != "") || p.value != "" && !isExtToken(p.value) {
				t.Fatalf("offer %d: bad parameter %+v", i, p)
			}
			b.WriteString("; " + p.name)
			if p.hasValue {
				b.WriteString("=" + p.value)
			}
		}
	}
	if len(offers) > commas+len(values) || params > semicolons {
		t.Fatalf("%d offers with %d parameters from %d commas and %d semicolons",
			len(offers), params, commas, semicolons)
	}
	again, err := parseExtensions([]string{b.String()})
	if err != nil || !reflect.DeepEqual(again, offers) {
		t.Fatalf("%q parsed to %+v, printed as %q, which parsed to %+v, %v", values, offers, b.String(), again, err)
	}
}

func isExtToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isExtTokenChar(s[i]) {
			return false
		}
	}
	return s != ""
}

// checkNegotiatedDeflate checks negotiateDeflate's result against a model written
// straight from RFC 7692 §7, and reads the response back as a client would.
func checkNegotiatedDeflate(t *testing.T, offers []extensionOffer, cfg deflateConfig, params deflateParams, response string, ok bool) {
	t.Helper()
	i := modelAcceptDeflate(offers)
	if ok != (i >= 0) {
		t.Fatalf("negotiateDeflate(%+v) ok = %v; the model accepts offer %d", offers, ok, i)
	}
	if !ok {
		if params != (deflateParams{}) || response != "" {
			t.Fatalf("declined with %+v, %q", params, response)
		}
		return
	}
	accepted := offers[i]
	has := func(name string) (extensionParam, bool) {
		for _, p := range accepted.params {
			if p.name == name {
				return p, true
			}
		}
		return extensionParam{}, false
	}

	got, err := parseExtensions([]string{response})
	if err != nil || len(got) != 1 || got[0].name != "permessage-deflate" {
		t.Fatalf("response %q parses to %+v, %v; want one permessage-deflate", response, got, err)
	}
	seen := map[string]bool{}
	respBits := map[string]int{}
	for _, p := range got[0].params {
		if seen[p.name] {
			t.Fatalf("response %q repeats %s", response, p.name)
		}
		seen[p.name] = true
		switch p.name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if p.hasValue {
				t.Fatalf("response %q: %s has a value", response, p.name)
			}
		case "server_max_window_bits", "client_max_window_bits":
			// Answered only when offered, with a value, and no larger
			// than the offer's (§7.1.2.1, §7.1.2.2).
			n, err := strconv.Atoi(p.value)
			if err != nil || n < 8 || n > 15 || strconv.Itoa(n) != p.value {
				t.Fatalf("response %q: %s needs a value from 8 to 15", response, p.name)
			}
			o, offered := has(p.name)
			if !offered {
				t.Fatalf("response %q: %s not offered", response, p.name)
			}
			if v, err := strconv.Atoi(o.value); o.hasValue && (err != nil || n > v) {
				t.Fatalf("response %q: %s larger than offered (%q)", response, p.name, o.value)
			}
			respBits[p.name] = n
		default:
			t.Fatalf("response %q: unexpected parameter %s", response, p.name)
		}
	}

	_, offeredSNCT := has("server_no_context_takeover")
	_, offeredCNCT := has("client_no_context_takeover")
	_, offeredSMWB := has("server_max_window_bits")
	if params.serverNoContextTakeover != (offeredSNCT || cfg.serverNoContextTakeover) ||
		seen["server_no_context_takeover"] != params.serverNoContextTakeover {
		t.Fatalf("offer %+v, cfg %+v: server_no_context_takeover agreed %v, response %q",
			accepted, cfg, params.serverNoContextTakeover, response)
	}
	if params.clientNoContextTakeover != (offeredCNCT || cfg.clientNoContextTakeover) ||
		seen["client_no_context_takeover"] != params.clientNoContextTakeover {
		t.Fatalf("offer %+v, cfg %+v: client_no_context_takeover agreed %v, response %q",
			accepted, cfg, params.clientNoContextTakeover, response)
	}
	if seen["server_max_window_bits"] != offeredSMWB {
		t.Fatalf("offer %+v: response %q", accepted, response)
	}

	// The server's window: what the client reads from the response
	// bounds it, and it is within the configuration.
	cfgServer, cfgClient := cfg.serverMaxWindowBits, cfg.clientMaxWindowBits
	if cfgServer == 0 {
		cfgServer = 15
	}
	if cfgClient == 0 {
		cfgClient = 15
	}
	clientReadsServer := 15
	if n, ok := respBits["server_max_window_bits"]; ok {
		clientReadsServer = n
	}
	if params.serverMaxWindowBits > clientReadsServer || params.serverMaxWindowBits > cfgServer || params.serverMaxWindowBits < 8 {
		t.Fatalf("offer %+v, cfg %+v: server window %d, response %q", accepted, cfg, params.serverMaxWindowBits, response)
	}
	// The client's window: what it will use after reading the response
	// (its own value, or the response's) is what the server keeps.
	clientUses := 15
	if p, ok := has("client_max_window_bits"); ok && p.hasValue {
		clientUses, _ = strconv.Atoi(p.value)
	}
	if n, ok := respBits["client_max_window_bits"]; ok {
		clientUses = n
	}
	if params.clientMaxWindowBits != clientUses {
		t.Fatalf("offer %+v: clientMaxWindowBits = %d, the client uses %d", accepted, params.clientMaxWindowBits, clientUses)
	}
	if _, ok := has("client_max_window_bits"); ok && !params.clientNoContextTakeover && clientUses > cfgClient {
		t.Fatalf("offer %+v, cfg %+v: the client keeps its context with a window of %d bits, not limited", accepted, cfg, clientUses)
	}
}

// modelAcceptDeflate returns the index of the first offer a server that
// compresses with any window from 8 to 15 bits can accept under RFC 7692
// §7, or -1.
func modelAcceptDeflate(offers []extensionOffer) int {
	bits := func(v string) (int, bool) {
		n, err := strconv.Atoi(v)
		return n, err == nil && strconv.Itoa(n) == v && 8 <= n && n <= 15
	}
next:
	for i, o := range offers {
		if o.name != "permessage-deflate" {
			continue
		}
		count := map[string]int{}
		for _, p := range o.params {
			count[p.name]++
			if count[p.name] > 1 {
				continue next
			}
			switch p.name {
			case "server_no_context_takeover", "client_no_context_takeover":
				if p.hasValue {
					continue next
				}
			case "server_max_window_bits":
				if _, ok := bits(p.value); !ok {
					continue next
				}
			case "client_max_window_bits":
				if _, ok := bits(p.value); p.hasValue && !ok {
					continue next
				}
			default:
				continue next
			}
		}
		return i
	}
	return -1
}
