#!/bin/sh
# Conformance run of the library: build examples/echo and the suite, start
# the echo on a loopback port of its choosing, run the cases against it, stop it.
# Prints the suite's one summary line; exits with the suite's status
# (0 pass, 1 a case FAILED or NON-STRICT, 2 setup error). Extra arguments go
# to the suite, e.g.: autobahn/run.sh -v -cases '6.4.*'
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

go build -o "$tmp/echo" ./examples/echo
go build -o "$tmp/autobahn" ./autobahn

# The suite starts the server itself ({addr} becomes 127.0.0.1:0), reads
# the address the server prints, and kills it afterwards.
status=0
"$tmp/autobahn" -server-cmd "$tmp/echo -q -addr {addr}" -report autobahn/report "$@" || status=$?
exit "$status"
