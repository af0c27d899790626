#!/bin/sh
# The cluster on this machine: redis-server, three nodes and nginx in
# front, all on loopback, with their files in a temporary directory.
# Open http://127.0.0.1:8080 in two browsers; Ctrl-C stops everything.
#
#   sh examples/cluster/demo.sh        (or: make cluster-demo)
#
# Needs Debian's redis-server and nginx (nginx-light is enough). Ports:
# nginx 8080, the nodes 9001-9003 (the upstreams of nginx/chat.conf),
# Redis 6390 (not 6379, so that a system Redis is left alone).
set -eu
cd "$(dirname "$0")"
for bin in redis-server nginx; do
	command -v $bin >/dev/null 2>&1 || [ -x /usr/sbin/$bin ] || { echo "$bin is not installed: apt-get install redis-server nginx-light" >&2; exit 1; }
done
PATH="$PATH:/usr/sbin"

dir=$(mktemp -d)
pids=""
stop() {
	trap - INT TERM EXIT
	for pid in $pids; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap stop INT TERM EXIT

go build -o "$dir/node" .

cat >"$dir/redis.conf" <<CONF
bind 127.0.0.1
port 6390
dir $dir
daemonize no
appendonly yes
appendfsync everysec
save ""
CONF
redis-server "$dir/redis.conf" >"$dir/redis.log" 2>&1 &
pids="$pids $!"

for i in 1 2 3; do
	"$dir/node" -addr 127.0.0.1:900$i -node n$i -redis 127.0.0.1:6390 &
	pids="$pids $!"
	echo "node n$i: pid $!"
done

cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    include $PWD/nginx/chat.conf;
}
CONF
nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' &
pids="$pids $!"

echo "chat on http://127.0.0.1:8080 (nodes on :9001-9003, redis on :6390); Ctrl-C stops"
echo "kill a node (kill -9 PID, or kill PID for a graceful stop) and watch its pages move to the others"
wait
