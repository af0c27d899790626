package main

import (
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"red,green,blue", []string{"red", "green", "blue"}},
		{" yes , no ,maybe ", []string{"yes", "no", "maybe"}},
		{"Ünïcode ✓,日本語", []string{"Ünïcode ✓", "日本語"}},
		{"only one", []string{"only one"}},
		{strings.Repeat("x", maxOptionRunes), []string{strings.Repeat("x", maxOptionRunes)}},
	} {
		got, err := parseOptions(tc.in)
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("parseOptions(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"",
		"red,,blue",
		"red,",
		" , ",
		"red,Red",
		"a\x00b,c",
		"zero\u200bwidth,x",
		strings.Repeat("x", maxOptionRunes+1),
		strings.Repeat("o,", maxOptions) + "one too many",
		"\xff,ok",
	} {
		if got, err := parseOptions(in); err == nil {
			t.Errorf("parseOptions(%q) = %q, want an error", in, got)
		}
	}
}

func TestDecodeVote(t *testing.T) {
	index := map[string]int{"red": 0, "green": 1, "blue": 2}
	for _, tc := range []struct {
		msg  string
		want int
	}{
		{`{"vote":"red"}`, 0},
		{`{"vote":"blue"}`, 2},
		{` { "vote" : "gr\u0065en" } `, 1},
		{`{"vote":"green","from":"a later page"}`, 1}, // unknown fields are ignored
	} {
		got, bad := decodeVote([]byte(tc.msg), index)
		if bad != nil || got != tc.want {
			t.Errorf("decodeVote(%s) = %d, %+v; want %d", tc.msg, got, bad, tc.want)
		}
	}
	for _, tc := range []struct{ msg, code string }{
		{`red`, codeBadRequest},
		{``, codeBadRequest},
		{`{}`, codeBadRequest},
		{`null`, codeBadRequest},
		{`{"vote":null}`, codeBadRequest},
		{`{"vote":3}`, codeBadRequest},
		{`["red"]`, codeBadRequest},
		{`{"vote":"red"}{"vote":"red"}`, codeBadRequest},
		{`{"vote":"purple"}`, codeUnknownOption},
		{`{"vote":"Red"}`, codeUnknownOption},
		{`{"vote":""}`, codeUnknownOption},
	} {
		_, bad := decodeVote([]byte(tc.msg), index)
		if bad == nil || bad.Code != tc.code || bad.Error == "" {
			t.Errorf("decodeVote(%s) = %+v, want a refusal with code %q", tc.msg, bad, tc.code)
		}
	}
}

func TestCheckNotice(t *testing.T) {
	for in, want := range map[string]string{
		"Voting closes at noon":                           "Voting closes at noon",
		"  padded\n":                                      "padded",
		"two\nlines\tand a tab":                           "two\nlines\tand a tab",
		"<img src=x onerror=1>":                           "<img src=x onerror=1>",
		strings.Repeat("é", 500):                          strings.Repeat("é", 500),
		"  " + strings.Repeat("x", maxNoticeRunes) + "\n": strings.Repeat("x", maxNoticeRunes),
	} {
		got, bad := checkNotice([]byte(in))
		if bad != nil || got != want {
			t.Errorf("checkNotice(%q) = %q, %v; want %q", in, got, bad, want)
		}
	}
	for in, status := range map[string]int{
		"":                                    400,
		" \n\t ":                              400,
		"bell\a":                              400,
		"nul\x00":                             400,
		"\xff\xfe":                            400,
		strings.Repeat("x", maxNoticeRunes+1): 413,
	} {
		if _, bad := checkNotice([]byte(in)); bad == nil || bad.status != status {
			t.Errorf("checkNotice(%q) = %v, want status %d", in, bad, status)
		}
	}
}
