package main

import (
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	good := []string{
		"photo.jpg",
		"Quarterly report (final).pdf",
		"日本語のファイル.txt",
		"𝄞 score.musicxml",
		"no-extension",
		"a..b", // dots inside a name are harmless
		strings.Repeat("n", maxNameBytes),
	}
	for _, name := range good {
		if err := checkName(name); err != nil {
			t.Errorf("checkName(%q) = %v, want nil", name, err)
		}
	}
	bad := []string{
		"",
		".",
		"..",
		"../etc/passwd",
		"../../x",
		"a/b",
		"/etc/passwd",
		`..\windows\win.ini`,
		`C:\x`,
		"C:x",
		"a:stream",
		".bashrc",
		".upload-123.part",
		" leading.txt",
		"trailing.txt ",
		"trailing.exe.",
		"nul\x00byte",
		"new\nline",
		"evil\u202egpj.exe",
		"zero\u200bwidth",
		"bad\xffutf8",
		strings.Repeat("n", maxNameBytes+1),
	}
	for _, name := range bad {
		if f := checkName(name); f == nil || f.Code != codeBadName || f.Message == "" {
			t.Errorf("checkName(%q) = %v, want a %s failure", name, f, codeBadName)
		}
	}
}

func TestNumbered(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		want string
	}{
		{"photo.jpg", 1, "photo (1).jpg"},
		{"photo.jpg", 12, "photo (12).jpg"},
		{"README", 2, "README (2)"},
		{"logs.tar.gz", 1, "logs (1).tar.gz"},
		{"archive.TAR.xz", 1, "archive (1).TAR.xz"},
		{"v1.2.3.zip", 1, "v1.2.3 (1).zip"},
	} {
		if got := numbered(tc.name, tc.n); got != tc.want {
			t.Errorf("numbered(%q, %d) = %q, want %q", tc.name, tc.n, got, tc.want)
		}
	}
}
