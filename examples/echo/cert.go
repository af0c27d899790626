package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// fingerprint is the SHA-256 of a certificate's DER bytes, as browsers
// show it: upper-case hex pairs joined by colons.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// spkiPin is the SHA-256 of the certificate's public key (its
// SubjectPublicKeyInfo) in base64, the form Chromium's
// --ignore-certificate-errors-spki-list takes: a browser given it trusts
// this key and no other.
func spkiPin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// certNames lists the names a certificate is valid for.
func certNames(cert *x509.Certificate) string {
	var names []string
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	names = append(names, cert.DNSNames...)
	return strings.Join(names, ", ")
}

// http2WebSockets says whether WebSockets can run over HTTP/2 here. Go's
// HTTP/2 server offers extended CONNECT (RFC 8441), which they need, only
// when GODEBUG holds http2xconnect=1 as the process starts; it looks for
// that text in the variable, and so does this.
func http2WebSockets() string {
	if strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=1") {
		return "HTTP/2 WebSockets on: GODEBUG has http2xconnect=1"
	}
	return "HTTP/2 WebSockets off: start with GODEBUG=http2xconnect=1 to turn them on"
}
