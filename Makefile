# The two commands of the README, each runnable on a fresh Debian 12 as root:
#   make demo   install what is missing, build (Release), run the demo
#   make test   install what is missing, build with ASan+UBSan, run every suite
#   make bench  build (Release) and run the benchmarks (docs/benchmarks.md)
BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DEBIAN_PACKAGES = build-essential cmake pkg-config libuv1-dev \
  libcurl4-openssl-dev libjson-c-dev check libsubunit-dev libmicrohttpd-dev

.PHONY: demo test bench deps build-release build-test clean

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

build-release: deps
	cmake -S . -B $(BUILD_DIR)/release -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD_DIR)/release -j $(JOBS)

build-test: deps
	cmake -S . -B $(BUILD_DIR)/test -DCMAKE_BUILD_TYPE=Debug -DAD_SANITIZE=ON -DAD_WERROR=ON
	cmake --build $(BUILD_DIR)/test -j $(JOBS)

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

clean:
	rm -rf $(BUILD_DIR)
