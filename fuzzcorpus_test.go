package websocket

// The seed corpora of the fuzz targets, under testdata/fuzz/<Target>/seed-*.
// go test runs every seed as a regular test case, and go test -fuzz starts
// from them. They are generated here, so each one says what it is for:
//
//	WS_WRITE_FUZZ_SEEDS=1 go test -run TestFuzzSeeds .
//
// rewrites them; without the variable, TestFuzzSeeds checks that the files on
// disk are the ones listed here. Files not named seed-* (crashers the fuzzer
// saved, kept as regression cases) are left alone.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wirekit/websocket/internal/wstest"
)

// seedKey is the masking key of every seed: the key of RFC 6455 §5.7.
// Seeds must be deterministic, for TestFuzzSeeds to compare them with the
// files on disk.
var seedKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// seedFrame is a client frame with seedKey as its key if masked, with the
// payload length in the form lenForm says (0: shortest; 16 or 64: that
// form, even when not minimal).
func seedFrame(fin bool, rsv, op byte, masked bool, key [4]byte, lenForm int, payload []byte) []byte {
	return wstest.AppendFrame(nil, wstest.Header{Fin: fin, RSV: rsv, Op: op, Masked: masked, Key: key, LenForm: lenForm}, payload)
}

// mf is a masked frame with the shortest length form.
func mf(fin bool, op byte, payload []byte) []byte {
	return seedFrame(fin, 0, op, true, seedKey, 0, payload)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// rawHeader64 is a masked header whose first byte is b0, claiming n bytes
// in the 64-bit form, with no payload behind it.
func rawHeader64(b0 byte, n uint64) []byte {
	return wstest.AppendHeader(nil, wstest.Header{Fin: b0&0x80 != 0, RSV: b0 >> 4 & 7, Op: b0 & 0x0F, Masked: true, Key: seedKey, Length: n, LenForm: 64})
}

// fuzzSeeds returns, per fuzz target, the seed files by name, each as the
// arguments of one call of the target.
func fuzzSeeds() map[string]map[string][]any {
	seeds := map[string]map[string][]any{
		"FuzzReadFrames":    {},
		"FuzzHandshake":     {},
		"FuzzClosePayload":  {},
		"FuzzMask":          {},
		"FuzzUTF8Validator": {},
	}

	// FuzzReadFrames: the bytes a client sends after its handshake.
	rf := seeds["FuzzReadFrames"]
	add := func(name string, b []byte) { rf[name] = []any{b} }
	hello := []byte("Hello")
	// RFC 6455 §5.7, verbatim.
	add("rfc-unmasked-text-hello", []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f})
	add("rfc-masked-text-hello", []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58})
	add("rfc-unmasked-fragmented-hello", []byte{0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f})
	add("rfc-unmasked-ping", []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f})
	add("rfc-masked-pong", []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58})
	add("rfc-unmasked-256-binary-header-only", []byte{0x82, 0x7e, 0x01, 0x00})
	add("rfc-unmasked-64k-binary-header-only", []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0})
	// The same examples as a client must send them: masked.
	add("masked-fragmented-hello", cat(mf(false, 1, []byte("Hel")), mf(true, 0, []byte("lo"))))
	add("masked-ping-hello", mf(true, 9, hello))
	add("masked-256-binary", mf(true, 2, bytes.Repeat([]byte{0xaa}, 256)))
	add("masked-64k-binary-truncated", rawHeader64(0x82, 1<<16))
	// Length forms and their edges.
	add("len-125", mf(true, 2, bytes.Repeat([]byte("x"), 125)))
	add("len-126-16bit", mf(true, 2, bytes.Repeat([]byte("x"), 126)))
	add("len-5-in-16bit-form", seedFrame(true, 0, 2, true, seedKey, 16, hello))
	add("len-5-in-64bit-form", seedFrame(true, 0, 2, true, seedKey, 64, hello))
	add("len-0-in-64bit-form", seedFrame(true, 0, 1, true, seedKey, 64, nil))
	add("len-limit-exactly-claimed", rawHeader64(0x82, 1<<16))
	add("len-limit-plus-one-claimed", rawHeader64(0x82, 1<<16+1))
	add("len-2^63-1", rawHeader64(0x82, 1<<63-1))
	add("len-2^63-top-bit", rawHeader64(0x82, 1<<63))
	add("len-2^64-1", rawHeader64(0x82, 1<<64-1))
	add("len-fragments-cross-limit", cat(mf(false, 2, []byte("ab")), rawHeader64(0x00, 1<<16-2), rawHeader64(0x80, 1)))
	// Headers cut short at every length form.
	add("truncated-1-byte", []byte{0x81})
	add("truncated-16bit-length", []byte{0x82, 0xfe, 0x01})
	add("truncated-64bit-length", []byte{0x82, 0xff, 0, 0, 0, 0, 0, 0, 1})
	add("truncated-mask-key", []byte{0x81, 0x85, 0x37, 0xfa})
	add("truncated-payload", mf(true, 1, hello)[:8])
	add("truncated-after-first-fragment", mf(false, 1, []byte("Hel")))
	add("empty", []byte{})
	// Control frames: fragmented, too long, between fragments.
	add("ping-not-fin", mf(false, 9, hello))
	add("close-not-fin", mf(false, 8, wstest.ClosePayload(1000, "")))
	add("pong-not-fin", mf(false, 10, nil))
	add("ping-125", mf(true, 9, bytes.Repeat([]byte("p"), 125)))
	add("ping-126-16bit", mf(true, 9, bytes.Repeat([]byte("p"), 126)))
	add("ping-5-in-64bit-form", seedFrame(true, 0, 9, true, seedKey, 64, hello))
	add("ping-between-fragments", cat(mf(false, 1, []byte("Hel")), mf(true, 9, []byte("ping")), mf(true, 0, []byte("lo"))))
	add("close-between-fragments", cat(mf(false, 1, []byte("Hel")), mf(true, 8, wstest.ClosePayload(1000, "mid"))))
	// Message state errors.
	add("continuation-first", mf(true, 0, hello))
	add("new-message-in-fragmented", cat(mf(false, 1, []byte("a")), mf(true, 2, []byte("b"))))
	add("empty-fragments", cat(mf(false, 2, nil), mf(false, 0, nil), mf(true, 0, nil)))
	add("two-messages", cat(mf(true, 1, []byte("one")), mf(true, 2, []byte("two"))))
	add("data-after-close", cat(mf(true, 8, wstest.ClosePayload(1000, "")), mf(true, 1, []byte("late"))))
	// Reserved bits and opcodes.
	for rsv := byte(1); rsv <= 7; rsv++ {
		add(fmt.Sprintf("rsv-%d", rsv), seedFrame(true, rsv, 1, true, seedKey, 0, hello))
	}
	for _, op := range []byte{3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf} {
		add(fmt.Sprintf("opcode-%x", op), mf(true, op, nil))
	}
	// Text: invalid UTF-8 whole, at the end, and across fragments.
	add("text-overlong-slash", mf(true, 1, []byte("\xc0\xaf")))
	add("text-overlong-3byte", mf(true, 1, []byte("\xe0\x80\xaf")))
	add("text-overlong-4byte", mf(true, 1, []byte("\xf0\x80\x80\xaf")))
	add("text-surrogate-d800", mf(true, 1, []byte("\xed\xa0\x80")))
	add("text-surrogate-dfff", mf(true, 1, []byte("\xed\xbf\xbf")))
	add("text-beyond-10ffff", mf(true, 1, []byte("\xf4\x90\x80\x80")))
	add("text-truncated-at-end", mf(true, 1, []byte("a\xe2\x82")))
	add("text-valid-4byte-split", cat(mf(false, 1, []byte("\xf0\x9d")), mf(false, 0, []byte("\x84")), mf(true, 0, []byte("\x9e"))))
	add("text-invalid-split-f4-90", cat(mf(false, 1, []byte("κόσμε\xf4")), mf(true, 0, []byte("\x90\x80\x80"))))
	add("text-autobahn-6.3.1", mf(true, 1, []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64")))
	add("binary-invalid-utf8-is-fine", mf(true, 2, []byte("\xff\xfe\xc0\xaf")))
	// Close frames at every code boundary, and bad reasons.
	for _, code := range closeCodeBoundaries {
		add(fmt.Sprintf("close-code-%d", code), mf(true, 8, wstest.ClosePayload(code, "")))
	}
	add("close-empty", mf(true, 8, nil))
	add("close-one-byte", mf(true, 8, []byte{0x03}))
	add("close-reason-max-123", mf(true, 8, wstest.ClosePayload(1000, strings.Repeat("r", 123))))
	add("close-reason-124-too-long", mf(true, 8, wstest.ClosePayload(1000, strings.Repeat("r", 124))))
	add("close-reason-invalid-utf8", mf(true, 8, wstest.ClosePayload(1000, "\xff")))
	add("close-reason-surrogate", mf(true, 8, wstest.ClosePayload(1001, "\xed\xa0\x80")))
	add("close-reason-truncated-rune", mf(true, 8, wstest.ClosePayload(1000, "ab\xce")))

	// FuzzHandshake: raw HTTP requests.
	hs := seeds["FuzzHandshake"]
	req := func(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n\r\n" }
	const (
		get     = "GET /chat HTTP/1.1"
		host    = "Host: server.example.com"
		upgrade = "Upgrade: websocket"
		conn    = "Connection: Upgrade"
		key     = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
		version = "Sec-WebSocket-Version: 13"
	)
	addH := func(name string, s string) { hs[name] = []any{s} }
	addH("rfc-4.1-example", req(get, host, upgrade, conn, key, "Origin: http://example.com", "Sec-WebSocket-Protocol: chat, superchat", version))
	addH("minimal-valid", req(get, host, upgrade, conn, key, version))
	addH("lowercase-names-mixed-values", req(get, "host: a", "upgrade: WebSocket", "connection: keep-alive, UPGRADE", "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version: 13"))
	addH("connection-second-line", req(get, host, upgrade, "Connection: keep-alive", "Connection: upgrade", key, version))
	addH("upgrade-list", req(get, host, "Upgrade: h2c, websocket", conn, key, version))
	addH("upgrade-h2c-only", req(get, host, "Upgrade: h2c", conn, key, version))
	addH("connection-upgraded", req(get, host, upgrade, "Connection: upgraded", key, version))
	addH("version-8", req(get, host, upgrade, conn, key, "Sec-WebSocket-Version: 8"))
	addH("version-list", req(get, host, upgrade, conn, key, "Sec-WebSocket-Version: 13, 8"))
	addH("version-twice", req(get, host, upgrade, conn, key, "Sec-WebSocket-Version: 8", version))
	addH("no-version", req(get, host, upgrade, conn, key))
	addH("no-key", req(get, host, upgrade, conn, version))
	addH("key-15-bytes", req(get, host, upgrade, conn, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA", version))
	addH("key-17-bytes", req(get, host, upgrade, conn, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=", version))
	addH("key-not-base64", req(get, host, upgrade, conn, "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==", version))
	addH("key-url-alphabet", req(get, host, upgrade, conn, "Sec-WebSocket-Key: ____________________-w==", version))
	addH("key-twice", req(get, host, upgrade, conn, key, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==", version))
	addH("key-long", req(get, host, upgrade, conn, "Sec-WebSocket-Key: "+strings.Repeat("A", 200), version))
	addH("post", req("POST /chat HTTP/1.1", host, upgrade, conn, key, version, "Content-Length: 0"))
	addH("http-1.0", req("GET /chat HTTP/1.0", host, upgrade, conn, key, version))
	addH("http-2.0-line", req("GET /chat HTTP/2.0", host, upgrade, conn, key, version))
	addH("no-host", req(get, upgrade, conn, key, version))
	addH("origin-same-host", req(get, host, upgrade, conn, key, version, "Origin: https://server.example.com"))
	addH("origin-same-host-other-port", req(get, host, upgrade, conn, key, version, "Origin: https://server.example.com:8443"))
	addH("origin-cross", req(get, host, upgrade, conn, key, version, "Origin: https://evil.example"))
	addH("origin-null", req(get, host, upgrade, conn, key, version, "Origin: null"))
	addH("origin-not-url", req(get, host, upgrade, conn, key, version, "Origin: ::"))
	addH("origin-userinfo", req(get, host, upgrade, conn, key, version, "Origin: http://server.example.com@evil.example"))
	addH("huge-header", req(get, host, upgrade, conn, key, version, "X-Big: "+strings.Repeat("b", 8192)))
	addH("bare-lf", "GET / HTTP/1.1\nHost: a\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n")
	addH("truncated", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: webso")

	// FuzzClosePayload: every boundary of the code ranges, and reasons.
	cp := seeds["FuzzClosePayload"]
	for _, code := range closeCodeBoundaries {
		cp[fmt.Sprintf("code-%d", code)] = []any{wstest.ClosePayload(code, "")}
	}
	cp["empty"] = []any{[]byte{}}
	cp["one-byte"] = []any{[]byte{0x03}}
	cp["reason-greek"] = []any{wstest.ClosePayload(1000, "κόσμε")}
	cp["reason-123"] = []any{wstest.ClosePayload(1000, strings.Repeat("r", 123))}
	cp["reason-124"] = []any{wstest.ClosePayload(1000, strings.Repeat("r", 124))}
	cp["reason-122-plus-2byte-rune"] = []any{wstest.ClosePayload(1000, strings.Repeat("r", 122)+"é")}
	cp["reason-overlong"] = []any{wstest.ClosePayload(1000, "\xc0\xaf")}
	cp["reason-surrogate"] = []any{wstest.ClosePayload(1000, "\xed\xa0\x80")}
	cp["reason-beyond-10ffff"] = []any{wstest.ClosePayload(1000, "\xf4\x90\x80\x80")}
	cp["reason-truncated-rune"] = []any{wstest.ClosePayload(1000, "\xe2\x82")}
	cp["reason-nul"] = []any{wstest.ClosePayload(1000, "\x00")}

	// FuzzMask: data, key, split point. Lengths around the 8- and 64-byte
	// strides of the fast path, splits at every phase.
	mk := seeds["FuzzMask"]
	rfcKey := binary.LittleEndian.Uint32(seedKey[:])
	mk["rfc-hello"] = []any{[]byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}, rfcKey, 0}
	mk["empty"] = []any{[]byte{}, rfcKey, 5}
	mk["zero-key"] = []any{[]byte("unchanged"), uint32(0), 4}
	mk["all-ones-key"] = []any{bytes.Repeat([]byte{0xff}, 70), uint32(0xffffffff), 33}
	mk["negative-split"] = []any{[]byte("abcdefghij"), rfcKey, -7}
	mk["min-int-split"] = []any{[]byte("abcdefghij"), rfcKey, -1 << 63}
	mk["max-int-split"] = []any{[]byte("abcdefghij"), rfcKey, 1<<63 - 1}
	for _, n := range []int{1, 3, 4, 7, 8, 9, 15, 16, 17, 63, 64, 65, 127, 128, 129, 200} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*31 + 7)
		}
		for _, split := range []int{0, 1, 2, 3, n / 2, n - 1, n} {
			if split < 0 || split > n {
				continue
			}
			mk[fmt.Sprintf("len-%d-split-%d", n, split)] = []any{data, uint32(0xdeadbeef), split}
		}
	}

	// FuzzUTF8Validator: text and two cut points.
	uv := seeds["FuzzUTF8Validator"]
	texts := map[string]string{
		"min-2byte":         "\xc2\x80",
		"max-2byte":         "\xdf\xbf",
		"min-3byte":         "\xe0\xa0\x80",
		"before-surrogates": "\xed\x9f\xbf",
		"surrogate-d800":    "\xed\xa0\x80",
		"surrogate-dbff":    "\xed\xaf\xbf",
		"surrogate-dc00":    "\xed\xb0\x80",
		"surrogate-dfff":    "\xed\xbf\xbf",
		"surrogate-pair":    "\xed\xa0\xbd\xed\xb2\xa9",
		"after-surrogates":  "\xee\x80\x80",
		"max-3byte":         "\xef\xbf\xbf",
		"bom":               "\xef\xbb\xbf",
		"min-4byte":         "\xf0\x90\x80\x80",
		"max-10ffff":        "\xf4\x8f\xbf\xbf",
		"beyond-10ffff":     "\xf4\x90\x80\x80",
		"f5-lead":           "\xf5\x80\x80\x80",
		"overlong-nul-2":    "\xc0\x80",
		"overlong-c1":       "\xc1\xbf",
		"overlong-3-e0-9f":  "\xe0\x9f\xbf",
		"overlong-4-f0-8f":  "\xf0\x8f\xbf\xbf",
		"5-byte-form":       "\xf8\x88\x80\x80\x80",
		"6-byte-form":       "\xfc\x84\x80\x80\x80\x80",
		"fe":                "\xfe",
		"ff":                "\xff",
		"lone-continuation": "a\x80b",
		"two-continuations": "\x80\xbf",
		"truncated-2of3":    "a\xe2\x82",
		"truncated-3of4":    "\xf0\x9d\x84",
		"lead-then-ascii":   "\xe2a\x82",
		"ascii-long":        strings.Repeat("The quick brown fox. ", 4),
		"greek-kosme":       "κόσμε",
		"autobahn-6.3.1":    "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
		"mixed-clef":        "a𝄞b日本語\U0010FFFF",
	}
	for name, s := range texts {
		p := []byte(s)
		// Cuts inside the first rune at every position, and one with the
		// cut points reversed and negative.
		for i := 0; i <= min(len(p), 4); i++ {
			uv[fmt.Sprintf("%s-cut-%d-%d", name, i, len(p)-1)] = []any{p, i, len(p) - 1}
		}
		uv[name+"-negative"] = []any{p, -2, -1}
		uv[name+"-min-int"] = []any{p, -1 << 63, 1<<63 - 1}
	}
	return seeds
}

// closeCodeBoundaries are the edges of every range RFC 6455 §7.4 and the
// IANA registry give close codes.
var closeCodeBoundaries = []int{
	0, 999, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010,
	1011, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 3000, 3999, 4000,
	4999, 5000, 65535,
}

// marshalSeed writes the arguments in the corpus file format of go test
// ("go test fuzz v1", then one Go literal per line).
func marshalSeed(args []any) string {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case int:
			fmt.Fprintf(&b, "int(%d)\n", v)
		case uint32:
			fmt.Fprintf(&b, "uint32(%d)\n", v)
		default:
			panic(fmt.Sprintf("seed argument of type %T", a))
		}
	}
	return b.String()
}

func TestFuzzSeeds(t *testing.T) {
	write := os.Getenv("WS_WRITE_FUZZ_SEEDS") != ""
	seeds := fuzzSeeds()
	targets := make([]string, 0, len(seeds))
	for target := range seeds {
		targets = append(targets, target)
	}
	sort.Strings(targets)
	total := 0
	for _, target := range targets {
		dir := filepath.Join("testdata", "fuzz", target)
		if write {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			// Drop seeds no longer listed; keep everything else.
			old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
			for _, f := range old {
				if _, ok := seeds[target][strings.TrimPrefix(filepath.Base(f), "seed-")]; !ok {
					os.Remove(f)
				}
			}
		}
		for name, args := range seeds[target] {
			path := filepath.Join(dir, "seed-"+name)
			want := marshalSeed(args)
			total++
			if write {
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s is missing or stale (err %v); regenerate with WS_WRITE_FUZZ_SEEDS=1 go test -run TestFuzzSeeds .", path, err)
			}
		}
	}
	if write {
		t.Logf("wrote %d seed files", total)
	}
}
