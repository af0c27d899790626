package selfsigned

import (
	"crypto/x509"
	"net"
	"testing"
	"time"
)

// The certificate verifies against itself for each loopback name and for
// a specific listening address, and names no other address.
func TestCertNames(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 443}
	cert, err := Cert("test", addr, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	for _, name := range []string{"127.0.0.1", "::1", "localhost", "192.0.2.7"} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if cert.Leaf.Subject.CommonName != "test" {
		t.Errorf("common name %q", cert.Leaf.Subject.CommonName)
	}
	any, err := Cert("test", &net.TCPAddr{IP: net.IPv6unspecified}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(any.Leaf.IPAddresses); n != 2 {
		t.Errorf("listening on every address: %d IPs, want the 2 loopback ones", n)
	}
}
