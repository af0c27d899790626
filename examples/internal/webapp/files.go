package webapp

import (
	"embed"
	"io/fs"
	"net/http"
)

// common holds what every example page may use, served under /common/
// beside the page's own files: base.css, the shared look, and
// reconnect.js, how a page waits before it reconnects its WebSocket.
//
//go:embed common
var common embed.FS

// CSP is the Content-Security-Policy that Files sends unless hdr sets
// another: the page may load scripts, styles and images from its own
// origin only (and data: images), may open connections, WebSockets
// included, to its own origin only, and may not be framed. Should text
// from a peer ever reach the DOM as markup by mistake, an injected script
// still would not run.
const CSP = "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Files serves the files under dir in fsys, typically an embed.FS that
// holds a page, and under /common/ the files all the example pages share
// (base.css, the stylesheet a page links before its own, and
// reconnect.js). Each
// response carries the headers in hdr (which may be nil) and these unless
// hdr sets them: Content-Security-Policy CSP, X-Content-Type-Options
// nosniff and Referrer-Policy no-referrer. It panics if dir is not a valid
// path (fs.ValidPath), a mistake in the program.
func Files(fsys fs.FS, dir string, hdr http.Header) http.Handler {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	all := http.Header{
		"Content-Security-Policy": {CSP},
		"X-Content-Type-Options":  {"nosniff"},
		"Referrer-Policy":         {"no-referrer"},
	}
	for k, v := range hdr {
		all[http.CanonicalHeaderKey(k)] = v
	}
	files := http.NewServeMux()
	files.Handle("/", http.FileServerFS(sub))
	files.Handle("/common/", http.FileServerFS(common))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range all {
			w.Header()[k] = v
		}
		files.ServeHTTP(w, r)
	})
}
