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

.PHONY: all build test test-unit test-e2e install uninstall clean check-zlib lint-man bench

all: build

check-zlib:
	@test -f /usr/include/zlib.h || { \
	  echo "sluice needs zlib's header and static library: apt-get install zlib1g-dev" >&2; exit 1; }

build: check-zlib
	@set -o pipefail 2>/dev/null; $(SWIFT) build $(RELEASE_FLAGS) 2>&1 | $(LINK_NOISE); exit $${PIPESTATUS[0]}

# Unit tests pin the engine; end-to-end tests run the release binary through real
# pipes, files and shells and compare with gzip, grep, head and tail.
# A hung test must fail the run, not hold CI until its deadline: 25 minutes at most.
test: build
	@set -o pipefail; SLUICE_BIN=$(CURDIR)/$(BIN) timeout --signal=KILL 1500 \
	  $(SWIFT) test --parallel 2>&1 | $(LINK_NOISE)

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/sluice
	install -m 644 man/sluice.1 $(DESTDIR)$(PREFIX)/share/man/man1/sluice.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/sluice $(DESTDIR)$(PREFIX)/share/man/man1/sluice.1

lint-man:
	mandoc -Tlint -W warning man/sluice.1

bench: build
	bench/run-all.sh

clean:
	rm -rf .build
