#!/usr/bin/env bash
# Runs the official Autobahn|Testsuite (crossbario/autobahn-testsuite, in
# Docker) in fuzzingclient mode against examples/echo, then summarizes its
# report with the same one-line counts as the Go suite. Needs Docker on
# Linux: the container uses the host network to reach 127.0.0.1:9001.
# Reports land in autobahn/reports/servers (HTML and JSON, owned by root
# because the container runs as root).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

port=9001 # must match the url in autobahn/fuzzingclient.json
tmp=$(mktemp -d)
server_pid=
cleanup() {
	if [[ -n "$server_pid" ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
	echo "docker.sh: port $port is already in use" >&2
	exit 2
fi

go build -o "$tmp/echo" ./examples/echo
"$tmp/echo" -addr "127.0.0.1:$port" &
server_pid=$!

for _ in $(seq 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		break
	fi
	if ! kill -0 "$server_pid" 2>/dev/null; then
		echo "docker.sh: examples/echo exited" >&2
		exit 2
	fi
	sleep 0.1
done

mkdir -p autobahn/reports
# The image's working directory is /, so the spec's outdir
# ./reports/servers is /reports/servers, i.e. autobahn/reports/servers.
docker run --rm --network host \
	-v "$PWD/autobahn:/config" \
	-v "$PWD/autobahn/reports:/reports" \
	crossbario/autobahn-testsuite \
	wstest -m fuzzingclient -s /config/fuzzingclient.json

cleanup
server_pid=
trap - EXIT

go run ./autobahn -summarize autobahn/reports/servers/index.json
