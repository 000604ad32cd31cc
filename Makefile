SHELL := /bin/bash
# sluice — build, test, install. `make` builds a static release binary at
# .build/release/sluice; `make test` runs every test against it.

PREFIX ?= /usr/local
DESTDIR ?=
SWIFT ?= swift
BIN := .build/release/sluice
# -static-executable: starts like cat (~1 ms) and needs no toolchain at run time.
RELEASE_FLAGS := -c release -Xswiftc -static-executable
# The static link warns that glibc's dlopen needs shared libraries at run time; sluice
# never dlopens, so that one line is noise.
LINK_NOISE := grep -v "statically linked applications requires at runtime"

.PHONY: all build deps deps-build test test-large test-stress test-scale test-sanitize fuzz fuzz-build install install-completions uninstall clean lint-man bench

all: build

# Debian packages. The build: make, binutils (strip, for make install), the headers and static
# libraries of zlib and libzstd, and the static C++
# runtime that -static-executable links, from the GCC installation the toolchain's clang
# selects (12 on Debian 12). The tests: what they run and compare against (script is in
# bsdutils, /usr/bin/time in time, bgzip and htsfile in tabix). `make deps` installs what
# is missing when run as root, or names the apt-get line to run; it prints nothing when
# all are there.
GCC_MAJOR = $(or $(shell clang -v 2>&1 | sed -n 's|^Selected GCC installation: .*/||p'),12)
BUILD_PACKAGES = make binutils zlib1g-dev libzstd-dev libstdc++-$(GCC_MAJOR)-dev
TEST_PACKAGES := bash bsdutils coreutils diffutils gzip grep jq librsvg2-bin libxml2-utils mawk mandoc parallel pigz pv python3 sed tabix time zstd

deps-build:
	@.ci/deps $(BUILD_PACKAGES)

deps: deps-build
	@.ci/deps $(TEST_PACKAGES)

build: deps-build
	@set -o pipefail 2>/dev/null; $(SWIFT) build $(RELEASE_FLAGS) 2>&1 | $(LINK_NOISE); exit $${PIPESTATUS[0]}

# Unit tests pin the engine; end-to-end tests run the release binary through real
# pipes, files and shells and compare with gzip, grep, head and tail.
# A hung test must fail the run, not hold CI until its deadline: 25 minutes at most.
# CI shows only the tail of the log, so a failing run ends by repeating its failures.
# Warnings are errors in the test build: a new one fails the run instead of piling up.
TEST_LOG := .build/test.log
test: deps build
	@set -o pipefail; mkdir -p .build; SLUICE_BIN=$(CURDIR)/$(BIN) timeout --signal=KILL 1500 \
	  $(SWIFT) test --parallel -Xswiftc -warnings-as-errors 2>&1 | $(LINK_NOISE) | tee $(TEST_LOG) || { \
	  status=$$?; echo "--- failures (whole log in $(TEST_LOG)):"; \
	  grep -a -A6 -E '✘|error:|Fatal error|Crash' $(TEST_LOG) | grep -av '^✔' | head -120; exit $$status; }

# Multi-gigabyte checks: flat memory from 100 MiB to 10 GiB, ISIZE past 4 GiB, a 10 GiB
# gzip bomb, faults and signals. Not part of `make test`; takes a while.
test-stress: deps build
	SLUICE=$(CURDIR)/$(BIN) Tests/stress/run.sh

test-large: test-stress

# The README's "Scaling out" recipes, run here: GNU parallel (--pipepart, --pipe, -S over
# ssh to an sshd on 127.0.0.1 the script starts), PySpark's RDD.pipe in local mode (PyPI's
# pyspark in a venv under .build, Java 17), Hadoop Streaming's mapper contract, and the
# shell completions installed. Not part of `make test`: it downloads pyspark (~450 MB) once
# and takes minutes.
SCALE_PACKAGES := parallel openssh-server openssh-client zsh fish bash-completion python3-venv openjdk-17-jre-headless
SCALE_VENV := .build/scale-venv
test-scale: deps build
	@.ci/deps $(SCALE_PACKAGES)
	@test -x $(SCALE_VENV)/bin/python || /usr/bin/python3 -m venv $(SCALE_VENV)
	@$(SCALE_VENV)/bin/python -c 'import pyspark' 2>/dev/null || $(SCALE_VENV)/bin/pip install -q 'pyspark>=4,<5'
	SLUICE=$(CURDIR)/$(BIN) PYTHON=$(CURDIR)/$(SCALE_VENV)/bin/python timeout 3600 Tests/scale/run.sh

# The end-to-end tests that exercise threads, against builds with ThreadSanitizer and,
# separately, AddressSanitizer (dynamic builds: the sanitizers need the toolchain).
# They are the suites named ...ThreadTests: `swift test --filter` matches test IDs, and
# Swift 6.3 cannot select a tag from the command line, so the name is the selector.
# DocsTests checks that this filter picks exactly those suites.
SANITIZE_FILTER := ThreadTests/
test-sanitize: deps
	@set -o pipefail; for s in thread address; do \
	  echo "== -sanitize=$$s"; \
	  $(SWIFT) build -c debug --build-path .build/sanitize-$$s -Xswiftc -sanitize=$$s 2>&1 | $(LINK_NOISE) || exit 1; \
	  SLUICE_SANITIZED=$$s SLUICE_BIN=$(CURDIR)/.build/sanitize-$$s/debug/sluice TSAN_OPTIONS=halt_on_error=1 \
	    ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 timeout 3600 \
	    $(SWIFT) test --build-path .build/sanitize-tests --filter '$(SANITIZE_FILTER)' 2>&1 | $(LINK_NOISE) || exit 1; \
	done

# libFuzzer targets (swiftc -sanitize=fuzzer,address) over the core's sources: gunzip,
# unzstd, the grep line scanner, and the command line. `make fuzz SECONDS=600` runs each one
# for that long from the seeds in fuzz/seeds; findings land in fuzz/artifacts.
SECONDS ?= 60
FUZZ_TARGETS := gunzip unzstd grep cli
CORE_SOURCES := $(shell find Sources/SluiceCore Sources/SluiceTestSupport -name '*.swift')
FUZZ_FLAGS := -sanitize=fuzzer,address -parse-as-library -O -wmo -module-name SluiceFuzz \
  -I Sources/CZlib -I Sources/CZstd -I Sources/CSys -Xlinker -lz -Xlinker -l:libzstd.a
.build/fuzz/gunzip: fuzz/GunzipFuzz.swift $(CORE_SOURCES)
.build/fuzz/unzstd: fuzz/UnzstdFuzz.swift $(CORE_SOURCES)
.build/fuzz/grep: fuzz/GrepFuzz.swift $(CORE_SOURCES)
.build/fuzz/cli: fuzz/CommandLineFuzz.swift $(CORE_SOURCES)
.build/fuzz/%:
	@mkdir -p .build/fuzz
	@echo "swiftc -sanitize=fuzzer,address ... $< -o $@"
	@swiftc $(FUZZ_FLAGS) $(CORE_SOURCES) $< -o $@ 2>&1 | grep -v "Cannot export local symbol" || true
	@test -x $@

fuzz-build: deps-build $(addprefix .build/fuzz/,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@mkdir -p fuzz/artifacts
	@status=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus-work/$$t; \
	  echo "== fuzz $$t for $(SECONDS) s"; \
	  .build/fuzz/$$t fuzz/corpus-work/$$t fuzz/seeds/$$t -max_total_time=$(SECONDS) -timeout=30 \
	    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=fuzz/artifacts/$$t- \
	    > fuzz/artifacts/$$t.log 2>&1 || { status=1; echo "fuzz $$t: FOUND A FAILURE, see fuzz/artifacts/$$t.log"; }; \
	  grep -E "^(#[0-9]+[[:space:]]+DONE|stat::|==[0-9]+==|SUMMARY|artifact|Done)" fuzz/artifacts/$$t.log; \
	  .build/fuzz/$$t fuzz/corpus-work/$$t -runs=0 2>&1 | grep -E "INITED|DONE" | tail -1; \
	done; exit $$status

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 -s $(BIN) $(DESTDIR)$(PREFIX)/bin/sluice
	install -m 644 man/sluice.1 $(DESTDIR)$(PREFIX)/share/man/man1/sluice.1
	@$(MAKE) --no-print-directory install-completions

# Completion scripts where bash-completion, zsh and fish look, made by the binary from
# its own option tables (COMPLETION_BIN: which binary makes them).
COMPLETION_BIN ?= $(BIN)
BASH_COMPLETION := share/bash-completion/completions/sluice
ZSH_COMPLETION := share/zsh/site-functions/_sluice
FISH_COMPLETION := share/fish/vendor_completions.d/sluice.fish
install-completions:
	install -d $(foreach f,$(BASH_COMPLETION) $(ZSH_COMPLETION) $(FISH_COMPLETION),$(dir $(DESTDIR)$(PREFIX)/$(f)))
	$(COMPLETION_BIN) --completion bash > $(DESTDIR)$(PREFIX)/$(BASH_COMPLETION)
	$(COMPLETION_BIN) --completion zsh > $(DESTDIR)$(PREFIX)/$(ZSH_COMPLETION)
	$(COMPLETION_BIN) --completion fish > $(DESTDIR)$(PREFIX)/$(FISH_COMPLETION)

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/sluice $(DESTDIR)$(PREFIX)/share/man/man1/sluice.1
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/,$(BASH_COMPLETION) $(ZSH_COMPLETION) $(FISH_COMPLETION))

lint-man:
	mandoc -Tlint -W warning man/sluice.1

bench: build
	bench/run-all.sh

clean:
	rm -rf .build
