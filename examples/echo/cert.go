package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"time"
)

// selfSigned makes a certificate for the loopback names (127.0.0.1, ::1,
// localhost) and, if the server listens on one specific address, that
// address too, valid from an hour ago (for clocks a little behind) for
// validity. Its key is ECDSA P-256 and lives only in this process: a
// client trusts it by its fingerprint, or not at all.
func selfSigned(addr net.Addr, validity time.Duration) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, err
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if ta, ok := addr.(*net.TCPAddr); ok && !ta.IP.IsUnspecified() && !ta.IP.Equal(ips[0]) && !ta.IP.Equal(ips[1]) {
		ips = append(ips, ta.IP)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "examples/echo (self-signed)"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

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
