package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// maxListed bounds the listing: a directory of many thousands of files is
// answered with its newest, rather than with a response of any size.
const maxListed = 500

// fileInfo is a stored file as GET /files lists it.
type fileInfo struct {
	Name     string    `json:"name"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
}

// list returns the files a page may download, newest first: regular files
// whose names checkName accepts, which leaves out temporary files and
// anything else hidden.
func (s *store) list() ([]fileInfo, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	files := []fileInfo{} // [] in JSON when there are none
	for _, e := range entries {
		if !e.Type().IsRegular() || checkName(e.Name()) != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed since ReadDir
		}
		files = append(files, fileInfo{Name: e.Name(), Size: info.Size(), Modified: info.ModTime().UTC()})
	}
	slices.SortFunc(files, func(a, b fileInfo) int {
		if c := b.Modified.Compare(a.Modified); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return files[:min(len(files), maxListed)], nil
}

// open opens a stored file for reading: one that list would show. Only a
// name that checkName accepts is looked up, so never a path, a temporary
// file or a hidden one, and only a regular file, not a link, is opened.
// It is opened through an os.Root, which cannot leave the directory, not
// even should a link replace the file between the check and the open.
func (s *store) open(name string) (*os.File, fs.FileInfo, error) {
	if checkName(name) != nil {
		return nil, nil, fs.ErrNotExist
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close() // the file stays open: it has a descriptor of its own
	if info, err := root.Lstat(name); err != nil || !info.Mode().IsRegular() {
		return nil, nil, fs.ErrNotExist
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// listFiles answers GET /files with the stored files, as JSON.
func (u *uploader) listFiles(w http.ResponseWriter, r *http.Request) {
	files, err := u.store.list()
	if err != nil {
		u.log.Printf("upload: listing %s: %v", u.store.dir, err)
		http.Error(w, "The server could not list its files.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(files)
}

// download answers GET /files/{name} with the file, as an attachment.
func (u *uploader) download(w http.ResponseWriter, r *http.Request) {
	f, info, err := u.store.open(r.PathValue("name"))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
			u.log.Printf("upload: download: %v", err)
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	h := w.Header()
	// Whatever the file holds, it is served as opaque bytes to be saved:
	// an uploaded HTML page or SVG shown in the browser would run its
	// scripts with this site's origin. The policy is a second lock, should
	// a browser render it anyway.
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	// FormatMediaType writes a name that is not plain ASCII as RFC 2231's
	// filename*=utf-8''…, and quotes the rest, so no name breaks the header.
	disposition := mime.FormatMediaType("attachment", map[string]string{"filename": info.Name()})
	if disposition == "" {
		disposition = "attachment"
	}
	h.Set("Content-Disposition", disposition)
	// ServeContent answers Range and If-Modified-Since requests, so a
	// large download can resume.
	http.ServeContent(w, r, "", info.ModTime(), f)
}
