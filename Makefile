# projblog — every target works on a fresh clone.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
BIN      := bin/projblog
LISTEN   ?= localhost:8080
DATA     ?= ./data
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
AXE_VERSION := 4.14.1
AXE      := internal/web/testdata/axe.min.js
FEEDNPM  := internal/feeds/testdata/npm
AJV      := $(FEEDNPM)/node_modules/.bin/ajv

.PHONY: all run build test test-short lint bench bench-go bench-load bench-scale bench-smoke wrk clean

all: build

## build: the one binary, with the version injected
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/projblog

## run: build and serve on http://$(LISTEN) with the database under $(DATA)
run: build
	./$(BIN) serve --listen $(LISTEN) --data $(DATA)

## test: vet and every test with the race detector, the browser tests included
test: $(AXE) $(AJV)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  echo "make test: no Chromium found: the browser tests will be SKIPPED (install it with: apt-get install -y chromium)"
	@command -v jing >/dev/null 2>&1 || \
	  echo "make test: no jing found: the Atom schema test will be SKIPPED (install it with: apt-get install -y jing)"
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	$(MAKE) --no-print-directory bench-smoke

## test-short: the tests without the race detector and the browser
test-short:
	$(GO) test -count=1 -short ./...

## lint: formatting, vet and staticcheck
lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## bench: the Go benchmarks, then the HTTP load run on 1,000 posts (figures go in docs/BENCHMARKS.md)
bench: bench-go bench-load

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

# The load runs keep their seeded data under bin/benchdata-N between runs.
BENCH_POSTS    ?= 1000
BENCH_DURATION ?= 10s
bench-load: build bin/loadbench wrk
	./bin/loadbench -projblog $(BIN) -data bin/benchdata-$(BENCH_POSTS) -posts $(BENCH_POSTS) -duration $(BENCH_DURATION) -out bin/benchmarks.md

## bench-scale: the load run at 1,000, 100,000 and 1,000,000 posts (seeding the last takes a while)
bench-scale: build bin/loadbench wrk
	for n in 1000 100000 1000000; do \
	  ./bin/loadbench -projblog $(BIN) -data bin/benchdata-$$n -posts $$n -duration $(BENCH_DURATION) -out bin/benchmarks.md || exit 1; \
	done

## bench-smoke: seeds a tiny data set and runs the load harness once (part of make test; checks answers, not speed)
bench-smoke: build bin/loadbench
	@if command -v wrk >/dev/null 2>&1; then \
	  ./bin/loadbench -projblog $(BIN) -smoke -posts 200 -duration 1s -connections 4; \
	elif [ -n "$$PROJBLOG_REQUIRE_BENCH" ]; then \
	  echo "make bench-smoke: wrk is missing (apt-get install -y wrk)"; exit 1; \
	else \
	  echo "make bench-smoke: SKIPPED, wrk is missing (install it with: apt-get install -y wrk)"; \
	fi

bin/loadbench: tools/loadbench/main.go
	$(GO) build -o $@ ./tools/loadbench

wrk:
	@command -v wrk >/dev/null 2>&1 || { echo "make: installing wrk"; \
	  $$( [ "$$(id -u)" -eq 0 ] || echo sudo ) apt-get install -y -qq wrk >/dev/null; }

# axe-core (accessibility rules run inside Chromium) comes from the npm
# registry, pinned; without npm the accessibility test says it is skipped.
$(AXE):
	@mkdir -p $(dir $@)
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && \
	  tar xzf axe-core-$(AXE_VERSION).tgz package/axe.min.js) && cp $$tmp/package/axe.min.js $@ && rm -rf $$tmp \
	  || echo "make: could not fetch axe-core@$(AXE_VERSION) with npm: the accessibility test will be skipped"

# ajv-cli and the JSON Feed 1.1 schema, pinned by the committed lockfile.
$(AJV): $(FEEDNPM)/package.json $(FEEDNPM)/package-lock.json
	@npm ci --silent --no-audit --no-fund --prefix $(FEEDNPM) >/dev/null 2>&1 && touch $@ \
	  || echo "make: could not install ajv-cli with npm: the JSON Feed schema test will be skipped"

clean:
	rm -rf bin
