# dopsync — the two commands of the README, and a few more.
SWIFT ?= swift
BIN := .build/debug/dopsync

.PHONY: all deps build release test demo bench clean

all: build

deps:
	@scripts/install-deps

build: deps
	$(SWIFT) build --product dopsync

release: deps
	$(SWIFT) build -c release --product dopsync

# The whole suite: unit, contract and integration tests over HTTPS on loopback.
test: deps
	$(SWIFT) test

# Starts the simulated regions, syncs them into demo/ and shows the result.
demo: build
	@scripts/demo $(BIN)

bench: release
	@scripts/bench .build/release/dopsync

clean:
	rm -rf .build demo
