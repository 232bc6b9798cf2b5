# runtimekit build. `make build` writes bin/runtimectl, one
# bin/runtimectl-plugin-NAME per runtime, and bin/plugins.lock.json pinning
# those plugin binaries by SHA-256. `make test` runs every test.
GO      ?= go
PLUGINS := $(notdir $(wildcard plugins/*))
BIN     := bin

.PHONY: build build-386 build-vm test fuzz bench clean

build:
	$(GO) build -trimpath -o $(BIN)/ ./cmd/runtimectl $(foreach p,$(PLUGINS),./plugins/$(p)/cmd/runtimectl-plugin-$(p))
	$(BIN)/runtimectl plugins lock

# The WebVM build: i386, static.
build-386:
	GOARCH=386 CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/linux-386/ ./cmd/runtimectl $(foreach p,$(PLUGINS),./plugins/$(p)/cmd/runtimectl-plugin-$(p))

# The runtimectl for the VM (apply, recover, status, logs, show, remove):
# no plugin host, CUE or network code.
build-vm:
	GOARCH=386 CGO_ENABLED=0 $(GO) build -tags vm -trimpath -ldflags='-s -w' -o $(BIN)/linux-386-vm/runtimectl ./cmd/runtimectl

test:
	$(GO) vet ./...
	$(GO) test -timeout 60m ./...

# Every fuzz target in turn, FUZZTIME each (see scripts/fuzz.sh).
FUZZTIME ?= 20s
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

# Whole-process benchmarks against their targets; see README.
bench: build
	./scripts/bench-manifest.sh
	./scripts/bench-plan.sh
	./scripts/bench-resolve.sh

clean:
	rm -rf $(BIN)
