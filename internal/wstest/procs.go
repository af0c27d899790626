package wstest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// A Buffer collects text that several goroutines write at once, a server's
// ErrorLog or a child process's output, and lets a test read it or wait
// for something in it. Its zero value is ready to use.
type Buffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and dropped at the next write, once made
}

// Write appends p; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor waits until ok holds for the buffer's contents, which it is
// given now and after each write, or until timeout passes, and reports
// whether ok held.
func (b *Buffer) WaitFor(timeout time.Duration, ok func(string) bool) bool {
	expired := time.NewTimer(timeout)
	defer expired.Stop()
	for {
		b.mu.Lock()
		if ok(b.buf.String()) {
			b.mu.Unlock()
			return true
		}
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-expired.C:
			return false
		}
	}
}

// FreeAddr returns a loopback address whose port was free a moment ago,
// for a process the test starts next. Another process could take it in
// between; on a test machine that is rare, and fails loudly.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// NginxPath returns the path of nginx, or fails the test saying how to
// install it; WS_SKIP_NGINX=1 skips instead, loudly.
func NginxPath(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("nginx")
	if err != nil {
		path = "/usr/sbin/nginx" // Debian's, often not on a user's PATH
		if _, err := os.Stat(path); err != nil {
			if os.Getenv("WS_SKIP_NGINX") == "1" {
				t.Skip("SKIPPED: nginx is not installed and WS_SKIP_NGINX=1")
			}
			t.Fatal("nginx is not installed: apt-get install nginx-light (or set WS_SKIP_NGINX=1 to skip this test)")
		}
	}
	return path
}

// NginxConfig is a whole nginx.conf for a test: one worker process with
// workerConnections connections, its pid and temporary files in dir, errors
// on stderr, no access log, and http (server blocks, an include) inside its
// http block. Run it with nginx -p dir -c FILE -g "daemon off;".
func NginxConfig(dir string, workerConnections int, http string) string {
	return fmt.Sprintf(`
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections %[2]d; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
%[3]s
}
`, dir, workerConnections, http)
}
