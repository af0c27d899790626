package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameBytes is the longest file name most file systems take (NAME_MAX).
// A unique name adds a suffix, so leave room for it.
const maxNameBytes = 255 - len(" (999)")

// checkName says what is wrong with a file name from a page, or returns nil
// if it is safe to create in the upload directory. Only a plain name is
// accepted: never a path, a hidden file, or characters that disguise what
// the name is. The name is refused rather than cleaned up, so the file
// never lands under a name the person did not see.
func checkName(name string) *failure {
	switch {
	case name == "":
		return fail(codeBadName, "The file needs a name.")
	case len(name) > maxNameBytes:
		return fail(codeBadName, "The file name is too long (at most %d bytes).", maxNameBytes)
	case !utf8.ValidString(name):
		return fail(codeBadName, "The file name is not valid UTF-8.")
	case strings.ContainsAny(name, `/\`) || filepath.Base(name) != name:
		return fail(codeBadName, "Send a file name, not a path.")
	case strings.HasPrefix(name, "."):
		// Covers "." and "..", and hidden files such as .bashrc or
		// .htaccess that a web server or shell would treat specially; the
		// server's own temporary files start with a dot too.
		return fail(codeBadName, "File names may not start with a dot.")
	case strings.TrimSpace(name) != name || strings.HasSuffix(name, "."):
		// Windows drops trailing dots and spaces, so "a.exe." would be
		// stored as a.exe there.
		return fail(codeBadName, "File names may not start or end with spaces, or end with a dot.")
	case strings.ContainsRune(name, ':'):
		// A drive ("C:x") or an alternate data stream ("a:b") on Windows.
		return fail(codeBadName, "File names may not contain a colon.")
	case !filepath.IsLocal(name):
		// Catches what the checks above do not on this OS, such as
		// reserved device names (NUL, COM1) on Windows.
		return fail(codeBadName, "That name is not allowed here.")
	}
	for _, r := range name {
		// Control characters break listings and logs; format characters,
		// such as the right-to-left override, make "evil\u202Egpj.exe" show
		// as "evilexe.jpg".
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fail(codeBadName, "File names may not contain control or invisible characters.")
		}
	}
	return nil
}

// numbered returns the n-th alternative to name, for n ≥ 1: "photo.jpg"
// becomes "photo (1).jpg", and "logs.tar.gz" becomes "logs (1).tar.gz".
func numbered(name string, n int) string {
	stem, ext := splitExt(name)
	return stem + " (" + strconv.Itoa(n) + ")" + ext
}

// splitExt splits a name at its extension, keeping ".tar" with the
// compression suffix that usually follows it.
func splitExt(name string) (stem, ext string) {
	ext = filepath.Ext(name)
	stem = strings.TrimSuffix(name, ext)
	if inner := filepath.Ext(stem); strings.EqualFold(inner, ".tar") && inner != stem {
		stem = strings.TrimSuffix(stem, inner)
		ext = inner + ext
	}
	if stem == "" { // a name such as ".gz" is refused by checkName, but be safe
		return name, ""
	}
	return stem, ext
}
