package main

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// httpBase turns the WebSocket URL testServer returns into the server's
// http:// address.
func httpBase(wsURL string) string {
	return "http" + strings.TrimSuffix(strings.TrimPrefix(wsURL, "ws"), "/ws")
}

func get(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// The list shows what a page may download, newest first, and nothing
// else: no temporary or hidden file, no directory, no link.
func TestFilesList(t *testing.T) {
	url, dir, _ := testServer(t)
	base := httpBase(url)
	if _, body := get(t, base+"/files"); strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("empty directory listed as %s, want []", body)
	}

	c := dial(t, url)
	c.upload("older.txt", []byte("old"))
	c.upload("日本語 (draft).txt", []byte("newer"))
	// Modification times a second apart, whatever the file system's
	// resolution, so the order is certain.
	now := time.Now()
	os.Chtimes(filepath.Join(dir, "older.txt"), now, now.Add(-time.Second))
	os.WriteFile(filepath.Join(dir, ".upload-123.part"), []byte("temporary"), 0o600)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte("hidden"), 0o600)
	os.Mkdir(filepath.Join(dir, "sub"), 0o700)
	os.Symlink("older.txt", filepath.Join(dir, "link.txt"))

	resp, body := get(t, base+"/files")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var files []fileInfo
	if err := json.Unmarshal(body, &files); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Name)
	}
	if want := []string{"日本語 (draft).txt", "older.txt"}; !slices.Equal(got, want) {
		t.Fatalf("listed %q, want %q, newest first", got, want)
	}
	if files[0].Size != int64(len("newer")) || files[0].Modified.IsZero() {
		t.Errorf("listed %+v", files[0])
	}
}

func TestFilesDownload(t *testing.T) {
	wsURL, _, _ := testServer(t)
	base := httpBase(wsURL)
	c := dial(t, wsURL)
	for _, name := range []string{"report.html", `日本語 "quoted"; x.txt`, "a+b%20c.bin"} {
		content := []byte("<script>alert('" + name + "')</script>")
		stored := c.upload(name, content).Name
		resp, body := get(t, base+"/files/"+url.PathEscape(stored))
		if resp.StatusCode != http.StatusOK || string(body) != string(content) {
			t.Fatalf("%q: %s, %q", name, resp.Status, body)
		}
		// Saved, never shown: an uploaded page must not run as this site.
		h := resp.Header
		if h.Get("Content-Type") != "application/octet-stream" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%q: Content-Type %q, X-Content-Type-Options %q", name, h.Get("Content-Type"), h.Get("X-Content-Type-Options"))
		}
		disposition, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
		if err != nil || disposition != "attachment" || params["filename"] != stored {
			t.Errorf("%q: Content-Disposition %q parses as %q %q (%v)", name, h.Get("Content-Disposition"), disposition, params, err)
		}
	}
}

// Only what the list shows is served: no path leads out of the directory,
// nor to a temporary or hidden file, a directory or a link.
func TestFilesDownloadRefuses(t *testing.T) {
	wsURL, dir, _ := testServer(t)
	base := httpBase(wsURL)
	outside := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(outside, []byte("secret"), 0o600)
	os.WriteFile(filepath.Join(dir, ".upload-1.part"), []byte("temporary"), 0o600)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte("hidden"), 0o600)
	os.Mkdir(filepath.Join(dir, "sub"), 0o700)
	os.WriteFile(filepath.Join(dir, "sub", "inner.txt"), []byte("inner"), 0o600)
	os.Symlink(outside, filepath.Join(dir, "escape.txt"))
	os.WriteFile(filepath.Join(dir, "plain.txt"), []byte("plain"), 0o600)
	os.Symlink("plain.txt", filepath.Join(dir, "link.txt")) // not listed, so not served
	rel, _ := filepath.Rel(dir, outside)

	for _, path := range []string{
		"/files/" + url.PathEscape(rel), // ../…/secret.txt, its slashes escaped
		"/files/..%2F..%2Fsecret.txt",
		"/files/%2E%2E",
		"/files/.upload-1.part",
		"/files/.hidden",
		"/files/sub",
		"/files/sub%2Finner.txt",
		"/files/escape.txt",
		"/files/link.txt",
		"/files/missing.txt",
	} {
		resp, body := get(t, base+path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, %q; want 404", path, resp.Status, body)
		}
		if strings.Contains(string(body), "secret") || strings.Contains(string(body), "inner") || strings.Contains(string(body), "temporary") {
			t.Errorf("GET %s leaked %q", path, body)
		}
	}
}
