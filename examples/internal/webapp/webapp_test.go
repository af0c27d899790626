package webapp

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestFilesHeaders(t *testing.T) {
	fsys := fstest.MapFS{"static/index.html": {Data: []byte("<p>hi</p>")}}
	for _, tc := range []struct {
		name         string
		hdr          http.Header
		csp, permits string
	}{
		{"defaults", nil, CSP, ""},
		{"own policy", http.Header{"content-security-policy": {"default-src 'none'"}, "Permissions-Policy": {"camera=()"}}, "default-src 'none'", "camera=()"},
	} {
		rec := httptest.NewRecorder()
		Files(fsys, "static", tc.hdr).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		h := rec.Result().Header
		if rec.Code != 200 || rec.Body.String() != "<p>hi</p>" {
			t.Errorf("%s: %d %q", tc.name, rec.Code, rec.Body)
		}
		if h.Get("Content-Security-Policy") != tc.csp || h.Get("Permissions-Policy") != tc.permits ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", tc.name, h)
		}
	}
}

// The shared files are served beside the page's, with the same headers.
func TestFilesCommon(t *testing.T) {
	fsys := fstest.MapFS{"static/style.css": {Data: []byte("p {}")}}
	h := Files(fsys, "static", nil)
	for path, typ := range map[string]string{"/style.css": "text/css", "/common/base.css": "text/css", "/common/reconnect.js": "text/javascript"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), typ) || rec.Header().Get("Content-Security-Policy") != CSP {
			t.Errorf("GET %s: %d %v", path, rec.Code, rec.Header())
		}
	}
}

// When its context ends, Serve runs the extra shutdowns and returns nil.
func TestServeShutsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	extra := make(chan struct{})
	go func() {
		ran <- Serve(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		}), nil, "", func(context.Context) error { close(extra); return nil })
	}()
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return within 30 s of its context ending")
	}
	select {
	case <-extra:
	default:
		t.Fatal("the extra shutdown did not run")
	}
}
