package main

// utf8Vector is one UTF-8 test payload of cases 6.5 and later, with whether
// it is valid UTF-8. The groups follow Markus Kuhn's UTF-8 decoder stress
// test (UTF-8-test.txt) in the order and numbering Autobahn uses: group i
// becomes subsection 6.(i+5).
type utf8Vector struct {
	valid   bool
	payload string
}

type utf8Group struct {
	title   string
	vectors []utf8Vector
}

// kosme is the Greek word "κόσμε", the classic valid multi-byte sample.
const kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"

func utf8Groups() []utf8Group {
	valid := func(ps ...string) []utf8Vector { return vectors(true, ps...) }
	invalid := func(ps ...string) []utf8Vector { return vectors(false, ps...) }

	// Continuation octets 0x80..0xBE in one run (0xBF is not included, as
	// in Autobahn).
	var continuations []byte
	for b := 0x80; b < 0xbf; b++ {
		continuations = append(continuations, byte(b))
	}

	// Lead octets of each sequence length, each followed by a space.
	var lonely []utf8Vector
	for _, r := range [][2]int{{0xc0, 0xdf}, {0xe0, 0xef}, {0xf0, 0xf7}, {0xf8, 0xfb}, {0xfc, 0xfd}} {
		var s []byte
		for b := r[0]; b < r[1]; b++ {
			s = append(s, byte(b), 0x20)
		}
		lonely = append(lonely, utf8Vector{false, string(s)})
	}

	missingLast := []string{
		"\xc0", "\xe0\x80", "\xf0\x80\x80", "\xf8\x80\x80\x80", "\xfc\x80\x80\x80\x80",
		"\xdf", "\xef\xbf", "\xf7\xbf\xbf", "\xfb\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf",
	}
	var concatenated string
	for _, s := range missingLast {
		concatenated += s
	}

	// Noncharacters U+FFFE/U+FFFF and U+nFFFE/U+nFFFF of the supplementary
	// planes: valid UTF-8 that a validator must not reject.
	nonchars := valid("\xef\xbf\xbe", "\xef\xbf\xbf")
	for _, z1 := range []byte{0xf0, 0xf1, 0xf2, 0xf3, 0xf4} {
		for _, z2 := range []byte{0x8f, 0x9f, 0xaf, 0xbf} {
			if z1 == 0xf4 && z2 != 0x8f {
				continue // beyond U+10FFFF
			}
			if z1 == 0xf0 && z2 == 0x8f {
				continue // overlong
			}
			for _, z3 := range []byte{0xbe, 0xbf} {
				nonchars = append(nonchars, utf8Vector{true, string([]byte{z1, z2, 0xbf, z3})})
			}
		}
	}

	return []utf8Group{
		{"Some valid UTF-8 sequences", valid(
			"hello\x24world", "hello\xc2\xa2world", "hello\xe2\x82\xacworld", "hello\xf0\xa4\xad\xa2world", kosme)},
		{"All prefixes of a valid UTF-8 string that contains multi-byte code points", prefixes(kosme)},
		{"First possible sequence of a certain length", valid("\x00", "\xc2\x80", "\xe0\xa0\x80", "\xf0\x90\x80\x80")},
		{"First possible sequence length 5/6 (invalid codepoints)", invalid("\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80")},
		{"Last possible sequence of a certain length", valid("\x7f", "\xdf\xbf", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf")},
		{"Last possible sequence length 4/5/6 (invalid codepoints)", invalid("\xf7\xbf\xbf\xbf", "\xfb\xbf\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf\xbf")},
		{"Other boundary conditions", append(valid("\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf"), invalid("\xf4\x90\x80\x80")...)},
		{"Unexpected continuation bytes", invalid("\x80", "\xbf", "\x80\xbf", "\x80\xbf\x80", "\x80\xbf\x80\xbf", "\x80\xbf\x80\xbf\x80", "\x80\xbf\x80\xbf\x80\xbf", string(continuations))},
		{"Lonely start characters", lonely},
		{"Sequences with last continuation byte missing", invalid(missingLast...)},
		{"Concatenation of incomplete sequences", invalid(concatenated)},
		{"Impossible bytes", invalid("\xfe", "\xff", "\xfe\xfe\xff\xff")},
		{"Examples of an overlong ASCII character", invalid("\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xf8\x80\x80\x80\xaf", "\xfc\x80\x80\x80\x80\xaf")},
		{"Maximum overlong sequences", invalid("\xc1\xbf", "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf", "\xf8\x87\xbf\xbf\xbf", "\xfc\x83\xbf\xbf\xbf\xbf")},
		{"Overlong representation of the NUL character", invalid("\xc0\x80", "\xe0\x80\x80", "\xf0\x80\x80\x80", "\xf8\x80\x80\x80\x80", "\xfc\x80\x80\x80\x80\x80")},
		{"Single UTF-16 surrogates", invalid("\xed\xa0\x80", "\xed\xad\xbf", "\xed\xae\x80", "\xed\xaf\xbf", "\xed\xb0\x80", "\xed\xbe\x80", "\xed\xbf\xbf")},
		{"Paired UTF-16 surrogates", invalid(
			"\xed\xa0\x80\xed\xb0\x80", "\xed\xa0\x80\xed\xbf\xbf", "\xed\xad\xbf\xed\xb0\x80", "\xed\xad\xbf\xed\xbf\xbf",
			"\xed\xae\x80\xed\xb0\x80", "\xed\xae\x80\xed\xbf\xbf", "\xed\xaf\xbf\xed\xb0\x80", "\xed\xaf\xbf\xed\xbf\xbf")},
		{"Non-character code points (valid UTF-8)", nonchars},
		{"Unicode specials (i.e. replacement char)", valid(
			"\xef\xbf\xb9", "\xef\xbf\xba", "\xef\xbf\xbb", "\xef\xbf\xbc", "\xef\xbf\xbd", "\xef\xbf\xbe", "\xef\xbf\xbf")},
	}
}

func vectors(valid bool, payloads ...string) []utf8Vector {
	out := make([]utf8Vector, len(payloads))
	for i, p := range payloads {
		out[i] = utf8Vector{valid, p}
	}
	return out
}

// prefixes returns every non-empty prefix of s; a prefix is valid when it
// ends on a code point boundary.
func prefixes(s string) []utf8Vector {
	var out []utf8Vector
	for i := 1; i <= len(s); i++ {
		out = append(out, utf8Vector{validUTF8([]byte(s[:i])), s[:i]})
	}
	return out
}
