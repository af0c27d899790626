#!/bin/sh
# What the interop tests (interop_test.go, client_test.go) need, made ready
# for `make test`: the npm packages are installed from the lock file when
# they are missing (cheap: two packages, no browser download); Chromium,
# python3-websockets, tinyproxy and node/npm are system packages, so they
# are only checked, and each one missing is named with the command that
# installs it. Exits non-zero if anything is missing, so that the tests
# never skip silently.
#
# WS_SKIP_INTEROP=1 skips the interop tests instead, with a warning.
set -u

cd "$(dirname "$0")"

if [ "${WS_SKIP_INTEROP:-}" = 1 ]; then
	echo "WARNING: WS_SKIP_INTEROP=1: the interop tests (Node ws, python3-websockets, Chromium, tinyproxy) are SKIPPED" >&2
	exit 0
fi

missing=""
need() { missing="$missing
  - $1
      install: $2"; }

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
	need "Chromium ($chromium)" "apt-get install -y chromium"
fi
if ! /usr/bin/python3 -c 'import websockets' >/dev/null 2>&1; then
	need "python3-websockets (/usr/bin/python3 cannot import websockets)" "apt-get install -y python3-websockets"
fi
if ! command -v tinyproxy >/dev/null 2>&1 && [ ! -x /usr/bin/tinyproxy ] && [ ! -x /usr/sbin/tinyproxy ]; then
	need "tinyproxy (the client's proxy test starts its own on loopback)" "apt-get install -y tinyproxy"
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	need "node and npm" "apt-get install -y nodejs npm"
elif [ ! -f node_modules/ws/package.json ] || [ ! -f node_modules/playwright-core/package.json ]; then
	echo "examples/interop: installing the npm packages from package-lock.json (npm ci)" >&2
	# playwright-core must never fetch a browser of its own: the tests
	# drive the system's Chromium.
	if ! PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2; then
		need "the npm packages ws and playwright-core (npm ci failed: it needs the npm registry)" "cd examples/interop && npm ci"
	fi
fi

if [ -n "$missing" ]; then
	echo "examples/interop: the interop tests need:$missing
(or set WS_SKIP_INTEROP=1 to skip them)" >&2
	exit 1
fi
