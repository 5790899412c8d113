# seam build. `make` builds ./seam; `make test` runs unit and integration
# tests; `make asan` builds ./seam-asan (AddressSanitizer + UBSan) and
# `make test-asan` runs the same suite against it; `make fuzz` builds the
# libFuzzer harnesses with clang.

CC      ?= cc
PKGS    := libevent libevent_pthreads libcurl jansson libfyaml libhs libcrypto sqlite3 hiredis
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CPPFLAGS_ALL := $(CSTD) -Isrc $(shell pkg-config --cflags $(PKGS))
LIBS    := $(shell pkg-config --libs $(PKGS)) -lpthread -lm
TEST_LIBS := $(shell pkg-config --libs cmocka)

SRC      := $(sort $(wildcard src/*.c src/*/*.c))
LIB_SRC  := $(filter-out src/main.c,$(SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

# Flavours: release objects in build/rel, sanitizer objects in build/asan.
FLAVOUR ?= rel
ifeq ($(FLAVOUR),asan)
  XFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  BIN    := seam-asan
else
  XFLAGS := $(CFLAGS)
  BIN    := seam
endif
# Objects of different compilers never mix: `make CC=clang` builds in its own tree.
B := build/$(FLAVOUR)-$(notdir $(firstword $(CC)))

# The dashboard's files, embedded in the binary (src/http/ui.h): ui/ and
# uPlot's dist files, installed by npm (package.json), never committed.
UI_FILES := $(sort $(wildcard ui/*)) node_modules/uplot/dist/uPlot.iife.min.js \
            node_modules/uplot/dist/uPlot.min.css
UI_GEN   := $(B)/gen/ui_assets.c

# The built-in detector patterns, compiled at build time (src/scan/scan.c,
# "Start-up") by a tool linked from the same objects.
SCAN_GEN := $(B)/gen/scan_prebuilt.c
SCAN_TOOL := $(B)/tools/scan_prebuild

LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o) $(UI_GEN:.c=.o) $(SCAN_GEN:.c=.o)
MAIN_OBJ := $(B)/src/main.o
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all asan compile-check test test-unit test-integration test-asan fuzz format format-check bench clean deps

all: $(BIN)

$(BIN): $(MAIN_OBJ) $(LIB_OBJ)
	$(CC) $(XFLAGS) -o $@ $^ $(LIBS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(XFLAGS) -MMD -MP -c -o $@ $<

$(UI_GEN): scripts/ui-assets.sh $(UI_FILES)
	@mkdir -p $(dir $@)
	./scripts/ui-assets.sh $@ $(UI_FILES)
$(UI_GEN:.c=.o): $(UI_GEN)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(XFLAGS) -c -o $@ $<
$(SCAN_TOOL): tools/scan_prebuild.c $(LIB_SRC:%.c=$(B)/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(XFLAGS) -o $@ $^ $(LIBS)
$(SCAN_GEN): $(SCAN_TOOL)
	@mkdir -p $(dir $@)
	$(SCAN_TOOL) $@
$(SCAN_GEN:.c=.o): $(SCAN_GEN)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(XFLAGS) -c -o $@ $<
node_modules/uplot/dist/%:
	@echo "missing $@: run npm ci (scripts/install-deps.sh installs the npm packages)" >&2; exit 1

$(B)/tests/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) -Itests/unit $(WARN) -Wno-unused-function $(XFLAGS) -o $@ $< $(LIB_OBJ) $(LIBS) $(TEST_LIBS)

asan:
	$(MAKE) FLAVOUR=asan seam-asan

# Compiles every object and unit test without replacing ./seam: CI runs it
# with CC=clang so the tree stays warning-free on both compilers.
compile-check: $(MAIN_OBJ) $(LIB_OBJ) $(UNIT_BIN)

# Unit tests: every tests/unit/test_*.c is one cmocka binary.
test-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; ./$$t; done

# Integration tests: node:test suites that start the real binary.
test-integration: $(BIN)
	SEAM_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1 tests/integration/

test: test-unit test-integration

test-asan:
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(MAKE) FLAVOUR=asan test

# libFuzzer harnesses (clang only); each fuzz/fuzz_X.c has a seed corpus in fuzz/corpus/fuzz_X/.
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined
fuzz: $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)
build/fuzz/%: fuzz/%.c $(LIB_SRC)
	@mkdir -p build/fuzz
	clang $(CPPFLAGS_ALL) $(WARN) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(LIBS)

# Run every fuzzer over its seed corpus plus a short time budget.
fuzz-run: fuzz
	@set -e; for f in $(FUZZ_SRC:fuzz/%.c=%); do \
	  mkdir -p fuzz/out/$$f; \
	  if ./build/fuzz/$$f -max_total_time=$${FUZZ_SECONDS:-10} fuzz/out/$$f fuzz/corpus/$$f \
	       > build/fuzz/$$f.log 2>&1; then echo "$$f: $$(tail -n 1 build/fuzz/$$f.log)"; \
	  else tail -n 40 build/fuzz/$$f.log; echo "$$f: FAILED"; exit 1; fi; done

format:
	clang-format -i $(SRC) $(wildcard src/*/*.h src/*.h tests/unit/*.h) $(UNIT_SRC) $(FUZZ_SRC) $(wildcard tools/*.c)
format-check:
	clang-format --dry-run --Werror $(SRC) $(wildcard src/*/*.h src/*.h tests/unit/*.h) $(UNIT_SRC) $(FUZZ_SRC) $(wildcard tools/*.c)

# Benchmarks: added latency and throughput against a direct baseline
# (bench/REPORT.md), then the detector's accuracy and speed (bench/SCAN_REPORT.md).
bench:
	./bench/run.sh
	$(MAKE) -C bench scan-report

deps:
	./scripts/install-deps.sh

clean:
	rm -rf build seam seam-asan

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)
