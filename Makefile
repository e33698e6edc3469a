# Every target is a plain command, so CI and the Dockerfile run the same steps.
CARGO      ?= cargo
WASM_DIR   := target/wasm32-wasip2/release
MODULES    := target/modules
CACHE      := target/module-cache
HOST       := target/debug/function-cluster-platform
IMAGE      ?= function-cluster-platform:dev
CONFIGURATION ?= target/configuration

.PHONY: setup test-setup guest build host-release warm-cache test run render-gcp render-aws render-azure bench image xpkg configuration configuration-xpkg fmt lint fuzz

setup:
	rustup target add wasm32-wasip2

# What only the tests need: a real OCI registry (Debian's docker-registry,
# the CNCF distribution registry), run on loopback by the tests, and a
# virtualenv with the seed's Python design on function-sdk-python, which
# the server-CPU bench compares against. (The stock wasmtime CLI the tests
# run modules with is a workspace binary, `wasmtime-cli/`.)
SEED_VENV := target/seed-venv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
test-setup:
	command -v docker-registry >/dev/null || { $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-registry; }
	python3 -c 'import ensurepip' 2>/dev/null || { $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 python3-venv; }
	[ -x $(SEED_VENV)/bin/python3 ] || python3 -m venv $(SEED_VENV)
	$(SEED_VENV)/bin/pip install --quiet --disable-pip-version-check -r integration/seed-python/requirements.txt

# The composition modules, built once; tests read them from $(WASM_DIR).
# $(MODULES), which the image ships and render reads, holds one per cloud.
# Each per-cloud module builds alone, so only its own cloud's feature is on.
CLOUD_MODULES := cluster-gcp cluster-aws cluster-azure
guest: setup
	$(CARGO) build --target wasm32-wasip2 --release -p cluster-all -p hostile-guest -p label-module
	for module in $(CLOUD_MODULES); do \
	  $(CARGO) build --target wasm32-wasip2 --release -p $$module || exit 1; done
	rm -rf $(MODULES) && mkdir -p $(MODULES)
	cp $(patsubst %,$(WASM_DIR)/%.wasm,$(subst -,_,$(CLOUD_MODULES))) $(MODULES)/

build: guest
	$(CARGO) build -p function-cluster-platform

host-release:
	$(CARGO) build --release --locked -p function-cluster-platform

# Compile every module into the cache (the image does this at build time).
warm-cache:
	$(HOST) compile --modules-dir $(MODULES) --cache-dir $(CACHE)

# Everything CI checks: guest logic natively, host end to end, the image's
# build steps as plain commands, and the benchmark in quick mode.
# One build of every binary, test and bench target: cargo resolves
# features once for all of them (the host binary and the wasmtime CLI
# harness included), so no step after it builds wasmtime again with
# another feature set.
test: guest test-setup
	$(CARGO) build --workspace --bins --tests --benches
	$(MAKE) warm-cache CACHE=target/test-cache
	$(CARGO) test --workspace --benches
	$(CARGO) nextest run --workspace --no-fail-fast

# Serve locally without TLS, as `crossplane render` Development runtime expects.
run: build
	$(HOST) --insecure --debug --modules-dir $(MODULES) --cache-dir $(CACHE)

# Render an example claim locally, like `crossplane render`: no cluster, no Docker.
RENDER = $(HOST) render --modules-dir $(MODULES) --cache-dir $(CACHE) \
	-e examples/envconfigs -r
render-gcp: build
	$(RENDER) examples/gcp/claim.yaml apis/legacy/composition.yaml examples/functions.yaml
render-aws: build
	$(RENDER) examples/aws/claim.yaml apis/legacy/composition.yaml examples/functions.yaml
render-azure: build
	$(RENDER) examples/azure/claim.yaml apis/legacy/composition.yaml examples/functions.yaml
# The namespaced composite of a cloud (Crossplane 2), e.g. render-gcp-namespaced.
render-%-namespaced: build
	$(RENDER) examples/$*/cluster.yaml apis/namespaced/composition.yaml examples/functions.yaml

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: guest
	$(CARGO) build --release -p function-cluster-platform
	$(CARGO) bench -p platform-integration

image:
	docker build -t $(IMAGE) .

# Needs the crossplane CLI; the package embeds the image built above.
xpkg: image
	@command -v crossplane >/dev/null || { echo "the crossplane CLI is not installed"; exit 1; }
	crossplane xpkg build -f package --embed-runtime-image=$(IMAGE) -o function-cluster-platform.xpkg

# The Configuration package's root: its crossplane.yaml, both APIs and the
# activation policy. The tests run this step and lint what it stages.
configuration:
	rm -rf $(CONFIGURATION)
	mkdir -p $(CONFIGURATION)/apis
	cp package/configuration/crossplane.yaml $(CONFIGURATION)/
	cp -R apis/legacy apis/namespaced apis/activation.yaml $(CONFIGURATION)/apis/

configuration-xpkg: configuration
	@command -v crossplane >/dev/null || { echo "the crossplane CLI is not installed"; exit 1; }
	crossplane xpkg build -f $(CONFIGURATION) -o configuration-cluster-platform.xpkg

# Bounded fuzzing (nightly + cargo-fuzz). New corpus entries land in
# fuzz/corpus/<target>; copy a crash from fuzz/artifacts/<target> into
# fuzz/regressions/<target> so the tests replay it.
FUZZ_SECONDS ?= 60
fuzz:
	rustup toolchain install nightly --profile minimal
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && cargo +nightly fuzz run claim -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && cargo +nightly fuzz run conversion -- -max_total_time=$(FUZZ_SECONDS)
