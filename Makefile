# hybridsession — everyday commands. `make help` lists them.

GO ?= go
# PostgreSQL for the tests; they skip (and say so) when it cannot be reached.
HYBRIDSESSION_TEST_POSTGRES ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export HYBRIDSESSION_TEST_POSTGRES
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHSTAT := golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
BENCH_COUNT ?= 6

.DEFAULT_GOAL := check
.PHONY: help run run-echo test test-browser check fmt vet lint bench benchstat bench-peers fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

run: ## run the Gin example on http://127.0.0.1:8080 (SQLite file sessions.db)
	$(GO) run ./examples/gin

run-echo: ## run the Echo example on http://127.0.0.1:8081 (SQLite file sessions.db; not beside `make run`)
	$(GO) run ./examples/echo

test: ## run every test with the race detector (what CI runs)
	$(GO) test -race -count=1 -timeout 15m ./...

test-browser: ## the example page in headless Chromium (skips without /usr/bin/chromium)
	cd examples/browsertest && $(GO) test -count=1 ./...

check: fmt vet lint test ## gofmt, go vet, staticcheck, then the tests

fmt: ## fail if any file needs gofmt
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet ./...

lint: ## staticcheck, pinned, run through the module proxy
	$(GO) run $(STATICCHECK) ./...

bench: ## run the benchmarks $(BENCH_COUNT) times into bench.txt (compare with `make benchstat`)
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) ./... | tee bench.txt

benchstat: ## summarize bench.txt (or OLD=a.txt NEW=b.txt to compare)
	$(GO) run $(BENCHSTAT) $(if $(OLD),$(OLD) $(NEW),bench.txt)

bench-peers: ## compare with the peer libraries; writes docs/benchmarks.md and its chart (~10 min, PostgreSQL)
	cd benchmarks && $(GO) run ./cmd/peerbench

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	@for f in FuzzTokenCheck FuzzDecodeValues FuzzJSONCodec FuzzJSONFastPaths FuzzCookieHeader; do \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-30s} ./core || exit 1; done

clean: ## remove local databases and benchmark output
	rm -f sessions.db sessions.db-* bench.txt
