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

.PHONY: all run build test test-short lint bench clean

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

## test-short: the tests without the race detector and the browser
test-short:
	$(GO) test -count=1 -short ./...

## lint: formatting, vet and staticcheck
lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## bench: the Go benchmarks (figures go in docs/BENCHMARKS.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

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
