# The project's commands. `make test` is what CI runs.

GO        ?= go
FUZZTIME  ?= 1m
BENCHTIME ?= 1s

.PHONY: test check unit interop-setup conformance conformance-h2 bench fuzz stress bench-compare autobahn-docker demo cluster-demo

## test: everything CI checks: formatting, vet, unit and end-to-end tests
## under the race detector (the interop tests included), and the Autobahn
## conformance suite from both sides. It needs Chromium, python3-websockets,
## node/npm, nginx, tinyproxy and redis-server installed (interop-setup names
## what is missing for the interop tests; the cluster test names its own),
## and the npm registry and the Go module proxy reachable the first time
## (the interop tests' npm packages; the requirements of the benchmarks
## and examples/cluster modules).
test: check unit conformance

check:
	@unformatted=$$(gofmt -l . | grep -v '^testdata/'); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	@if grep -qE '^\s*require\b' go.mod; then echo "go.mod must not require anything"; exit 1; fi

unit: interop-setup
	$(GO) test -race -count=1 -timeout 25m ./...
	cd benchmarks && $(GO) vet ./... && $(GO) test -count=1 ./...
	cd examples/cluster && $(GO) vet ./... && $(GO) test -race -count=1 -timeout 20m ./...
	cd h2test && $(GO) vet ./... && $(GO) test -race -count=1 -skip 'TestConformanceOverHTTP2' ./...

## interop-setup: install the interop tests' npm packages from the lock
## file if they are missing, and fail naming anything else the interop
## tests need; WS_SKIP_INTEROP=1 skips those tests instead, with a warning.
interop-setup:
	@sh examples/interop/setup.sh

## conformance: the Autobahn cases, in Go, from both sides: the
## fuzzingclient role against the server (examples/echo), the fuzzingserver
## role against the client (examples/echoclient), then sections 1-7, 9 and 10
## over HTTP/2, against examples/echo -tls through h2test's bridge, under the
## race detector. Each prints its summary line; any one failing fails the
## target, after all ran.
conformance:
	@status=0; \
	sh autobahn/run.sh || status=1; \
	sh autobahn/run-client.sh || status=1; \
	out=$$(cd h2test && $(GO) test -race -count=1 -v -run 'TestConformanceOverHTTP2' . 2>&1); h2=$$?; \
	if [ $$h2 -ne 0 ]; then echo "$$out"; status=1; else echo "$$out" | grep -o 'over HTTP/2.*'; fi; \
	exit $$status

## conformance-h2: all 517 cases over HTTP/2 (h2test's bridge, examples/echo -tls);
## make conformance runs sections 1-10 of them.
conformance-h2:
	cd h2test && H2TEST_CONFORMANCE_CASES=all $(GO) test -count=1 -timeout 30m -v -run 'TestConformanceOverHTTP2' .

## bench: the hot paths, with allocations.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) .

## fuzz: each fuzz target for FUZZTIME (default 1m).
fuzz:
	@for target in $$($(GO) test -list '^Fuzz' . | grep '^Fuzz'); do \
		echo "fuzzing $$target for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) . || exit 1; \
	done

## stress: 10,000 connections exchanging messages, then a graceful shutdown.
stress:
	WS_STRESS_CONNS=10000 $(GO) test -run 'TestLoad' -count=1 -v .

## bench-compare: this library against its peers, side by side (benchmarks/).
bench-compare:
	cd benchmarks && $(GO) run ./cmd/compare

## autobahn-docker: the official Autobahn suite, for machines with Docker.
autobahn-docker:
	@sh autobahn/docker.sh

## demo: the chat example on http://localhost:8080.
demo:
	$(GO) run ./examples/chat

## cluster-demo: the chat on three nodes behind nginx, with Redis between
## them, on http://127.0.0.1:8080 (needs redis-server and nginx).
cluster-demo:
	@sh examples/cluster/demo.sh
