package main

import (
	"strings"
	"testing"
	"time"

	"github.com/wirekit/websocket/examples/internal/webapp"
)

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Ada", "Ada", true},
		{"  Ada Lovelace  ", "Ada Lovelace", true},
		{"𝄞 clef", "𝄞 clef", true},
		{strings.Repeat("é", maxNameRunes), strings.Repeat("é", maxNameRunes), true},
		{"", "", false},
		{"   ", "", false},
		{strings.Repeat("a", maxNameRunes+1), "", false},
		{"bad\nname", "", false},
		{"nul\x00", "", false},
		{"zero\u200bwidth", "", false}, // zero-width space (Cf)
		{"rtl\u202eevil", "", false},   // right-to-left override (Cf)
		{"<script>", "<script>", true}, // harmless: the page never parses names as markup
	} {
		got, bad := checkName(tc.in)
		if (bad == nil) != tc.ok || got != tc.want {
			t.Errorf("checkName(%q) = %q, %v; want %q, ok=%v", tc.in, got, bad, tc.want, tc.ok)
		}
		if bad != nil && (bad.Code != codeInvalidName || bad.Message == "") {
			t.Errorf("checkName(%q) refusal = %+v", tc.in, bad)
		}
	}
}

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"hello", true},
		{" indented\n\tcode ", true},
		{strings.Repeat("𝄞", maxTextRunes), true},
		{strings.Repeat("𝄞", maxTextRunes+1), false},
		{"", false},
		{" \n\t ", false},
		{"bell\a", false},
	} {
		got, bad := checkText(tc.in)
		if (bad == nil) != tc.ok {
			t.Errorf("checkText(%.20q…) refused=%v, want ok=%v", tc.in, bad, tc.ok)
		}
		if bad == nil && got != tc.in {
			t.Errorf("checkText(%.20q…) changed the text to %.20q…", tc.in, got)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := webapp.NewLimiter(3, 2) // 3 at once, then 2 a second
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if !l.Allow(t0) {
			t.Fatalf("message %d of the burst refused", i)
		}
	}
	if l.Allow(t0) {
		t.Fatal("message past the burst allowed")
	}
	if l.Allow(t0.Add(400 * time.Millisecond)) {
		t.Fatal("allowed before a token was earned")
	}
	if !l.Allow(t0.Add(600 * time.Millisecond)) {
		t.Fatal("refused after a token was earned")
	}
	// A long silence refills to the burst, not beyond.
	t1 := t0.Add(time.Hour)
	for i := range 3 {
		if !l.Allow(t1) {
			t.Fatalf("message %d after a pause refused", i)
		}
	}
	if l.Allow(t1) {
		t.Fatal("the bucket grew past its burst")
	}
}
