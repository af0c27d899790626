# The project's commands. `make test` is what CI runs.

GO        ?= go
FUZZTIME  ?= 1m
BENCHTIME ?= 1s

.PHONY: test check unit conformance bench fuzz stress bench-compare autobahn-docker demo

## test: everything CI checks: formatting, vet, unit and end-to-end tests
## under the race detector, and the Autobahn conformance suite.
test: check unit conformance

check:
	@unformatted=$$(gofmt -l . | grep -v '^testdata/'); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	@if grep -qE '^\s*require\b' go.mod; then echo "go.mod must not require anything"; exit 1; fi

unit:
	$(GO) test -race -count=1 ./...
	cd benchmarks && $(GO) vet ./... && $(GO) test -count=1 ./...

## conformance: the Autobahn fuzzingclient cases, in Go, against examples/echo.
conformance:
	@sh autobahn/run.sh

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
