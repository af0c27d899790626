#!/bin/sh
# Client conformance run of the library: build examples/echoclient and the
# suite, serve the cases on a loopback port of the suite's choosing (the
# fuzzingserver role), run the echo client against it, and stop both.
# Prints the suite's one summary line for the client; exits with the
# suite's status (0 pass, 1 a case FAILED or NON-STRICT or the client
# failed, 2 setup error). Extra arguments go to the suite, e.g.:
# autobahn/run-client.sh -v -cases '6.4.*'
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

go build -o "$tmp/echoclient" ./examples/echoclient
go build -o "$tmp/autobahn" ./autobahn

# The suite listens on 127.0.0.1:0, starts the client with {url} replaced
# by the address it got, waits for it to finish and judges the cases.
status=0
"$tmp/autobahn" -client-cmd "$tmp/echoclient -url {url} -agent {agent}" -agent wirekit \
	-report autobahn/report/clients "$@" || status=$?
exit "$status"
