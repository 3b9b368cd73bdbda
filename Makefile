# The two commands of the README, each runnable on a fresh Debian 12 as root:
#   make demo   install what is missing, build (Release), run the demo
#   make test   install what is missing, build with ASan+UBSan, run every suite
#   make bench  build (Release) and run the benchmarks (docs/benchmarks.md)
#   make fuzz   build the libFuzzer targets (clang) and run each for a while
BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEBIAN_PACKAGES = build-essential cmake pkg-config libuv1-dev \
  libcurl4-openssl-dev libjson-c-dev check libsubunit-dev libmicrohttpd-dev \
  libhiredis-dev libssl-dev libsqlite3-dev libxxhash-dev redis-server

.PHONY: demo test bench fuzz deps build-release build-test clean

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root (or install:$$missing)" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Both builds have the fakes (airdust-fakes, which `airdust demo` and
# `airdust fake-*` exec); `cmake --install` never ships them.
build-release: deps
	cmake -S . -B $(BUILD_DIR)/release -DCMAKE_BUILD_TYPE=Release -DAD_WITH_FAKES=ON
	cmake --build $(BUILD_DIR)/release -j $(JOBS)

build-test: deps
	cmake -S . -B $(BUILD_DIR)/test -DCMAKE_BUILD_TYPE=Debug -DAD_SANITIZE=ON -DAD_WERROR=ON \
	  -DAD_WITH_FAKES=ON
	cmake --build $(BUILD_DIR)/test -j $(JOBS)

# airdust demo execs $(BUILD_DIR)/release/airdust-fakes, built beside it.
demo: build-release
	$(BUILD_DIR)/release/airdust demo

test: build-test
	cd $(BUILD_DIR)/test && ctest --output-on-failure --no-tests=error -j $(JOBS)

# Figures are printed and appended, one JSON object per result, to
# $(BENCH_OUT); BENCH_ARGS may hold --only NAME or --quick.
BENCH_OUT ?= $(BUILD_DIR)/bench/results.jsonl
bench: build-release
	mkdir -p $(BUILD_DIR)/bench
	$(BUILD_DIR)/release/bench/ad_bench --work $(BUILD_DIR)/bench/work \
	  --out $(BENCH_OUT) $(BENCH_ARGS)

# Each target runs FUZZ_SECONDS on a work corpus seeded from the repo's;
# a crash stops the loop and leaves the input in $(BUILD_DIR)/fuzz (copy
# it into tests/fuzz/regressions/TARGET/ once fixed: ctest replays those).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = config airtable dust slug jsonl airbyte
fuzz:
	$(MAKE) deps DEBIAN_PACKAGES="$(DEBIAN_PACKAGES) clang libclang-rt-14-dev"
	CC=clang cmake -S . -B $(BUILD_DIR)/fuzz -DCMAKE_BUILD_TYPE=Debug \
	  -DAD_FUZZ=ON -DAD_SANITIZE=ON -DAD_BUILD_BENCH=OFF
	cmake --build $(BUILD_DIR)/fuzz -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD_DIR)/fuzz/corpus/$$t && \
	  $(BUILD_DIR)/fuzz/tests/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=$(BUILD_DIR)/fuzz/crash-$$t- \
	    $(BUILD_DIR)/fuzz/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

clean:
	rm -rf $(BUILD_DIR)
