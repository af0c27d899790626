package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Temporary files are hidden (checkName refuses names with a leading dot,
// so no upload can be named like one) and say what they are.
const (
	tempPattern = ".upload-*.part"
	tempPrefix  = ".upload-"
	tempSuffix  = ".part"
)

// maxAlternatives bounds the search for a free name: past it, the upload
// is refused rather than the directory listed at length.
const maxAlternatives = 999

// A store keeps finished uploads in one directory.
type store struct {
	dir string
}

// A pending upload is a temporary file in the store's directory that
// collects the bytes and hashes them as they arrive. It becomes a file
// under its final name only through commit; until then, and after abort,
// nothing with that name exists.
type pending struct {
	st      *store
	f       *os.File
	h       hash.Hash
	written int64
	err     error // the first write error: the disk's, not the network's
}

// begin starts an upload.
func (s *store) begin() (*pending, error) {
	f, err := os.CreateTemp(s.dir, tempPattern)
	if err != nil {
		return nil, err
	}
	return &pending{st: s, f: f, h: sha256.New()}, nil
}

// Write writes p to the temporary file and the hash.
func (p *pending) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	p.h.Write(b[:n])
	p.written += int64(n)
	if err != nil && p.err == nil {
		p.err = err
	}
	return n, err
}

// abort removes the temporary file. It is safe to call after commit, when
// it does nothing, so callers can defer it.
func (p *pending) abort() {
	if p.f == nil {
		return
	}
	name := p.f.Name()
	p.f.Close()
	os.Remove(name)
	p.f = nil
}

// commit checks the bytes against want, the SHA-256 the page declared,
// and moves the file into place under name, or the first numbered
// alternative to it that is free. It returns the name used. On any error
// the temporary file is removed.
func (p *pending) commit(name string, want []byte) (string, error) {
	defer p.abort()
	if got := p.h.Sum(nil); subtle.ConstantTimeCompare(got, want) != 1 {
		return "", fail(codeMismatch, "The file arrived damaged: its SHA-256 is %x, not %x.", got, want)
	}
	// The data must be on disk before the name is: a crash must not leave
	// a finished-looking file with missing bytes.
	if err := p.f.Sync(); err != nil {
		return "", err
	}
	if err := p.f.Close(); err != nil {
		return "", err
	}
	tmp := p.f.Name()
	p.f = nil
	defer os.Remove(tmp) // after a successful link, the other name stays
	for n := 0; n <= maxAlternatives; n++ {
		final := name
		if n > 0 {
			final = numbered(name, n)
		}
		// A hard link, unlike rename, fails when the target exists, so
		// two uploads of the same name at once cannot overwrite each
		// other, nor an upload a file that was there already.
		err := os.Link(tmp, filepath.Join(p.st.dir, final))
		if err == nil {
			syncDir(p.st.dir)
			return final, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", fail(codeBadName, "Too many files are named like %q already.", name)
}

// syncDir makes a new directory entry durable where the system can: the
// upload is complete either way, so a failure here (as on Windows, which
// cannot sync a directory) does not undo it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// removeStale removes temporary files older than age, left by a server that
// was killed mid-upload. Younger ones may belong to another server sharing
// the directory, and are left alone.
func (s *store) removeStale(age time.Duration) error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, tempPrefix) || !strings.HasSuffix(name, tempSuffix) {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < age {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
