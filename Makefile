# ankihost - GNU make build.  See README.md.
#
#   make            release build into build/ (-O2 -g, warnings are errors)
#   make check      deps + sanitizer build + every test; ends "N passed, M failed"
#   make run        deps + build + the main job on loopback (Ctrl-C stops it)
#   make bench      performance ratios (bench/)
#   make lint       cppcheck + clang-tidy;  make format  clang-format -i

SHELL := /bin/bash
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

CC ?= cc
PKGS := sqlite3 libzstd jansson libmicrohttpd libcurl libzip libcrypto libutf8proc libpcre2-8 zlib
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) -g -pthread
CFLAGS ?= -O2
SAN_FLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TSAN_FLAGS := -O1 -fsanitize=thread -fno-omit-frame-pointer

BUILD ?= build
export BUILD

PREFIX ?= /usr/local
DESTDIR ?=

LIB_SRCS := $(sort $(wildcard src/lib/*.c))
PROGS := $(sort $(notdir $(patsubst %/,%,$(filter-out src/lib/,$(wildcard src/*/)))))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_NAMES := $(basename $(notdir $(UNIT_SRCS)))

# $(1) = build dir, $(2) = extra flags
define variant
$(1)/obj/%.o: src/%.c
	@mkdir -p $$(@D)
	$$(CC) $$(BASE_CFLAGS) $(2) $$(PKG_CFLAGS) -Isrc/lib -MMD -MP -c $$< -o $$@

$(1)/libankihost.a: $$(patsubst src/%.c,$(1)/obj/%.o,$$(LIB_SRCS))
	@rm -f $$@
	ar rcs $$@ $$^

$(1)/bin/%: $(1)/libankihost.a $$$$(subst .c,.o,$$$$(subst src/,$(1)/obj/,$$$$(wildcard src/$$$$*/*.c)))
	@mkdir -p $$(@D)
	$$(CC) $$(BASE_CFLAGS) $(2) -o $$@ $$(filter %.o,$$^) $(1)/libankihost.a $$(PKG_LIBS) -lm

-include $$(shell find $(1)/obj -name '*.d' 2>/dev/null)
endef

.SECONDEXPANSION:
$(eval $(call variant,$(BUILD),$(CFLAGS)))
$(eval $(call variant,$(BUILD)/san,$(SAN_FLAGS)))
$(eval $(call variant,$(BUILD)/tsan,$(TSAN_FLAGS)))

$(BUILD)/san/tests/%: tests/unit/%.c $(BUILD)/san/libankihost.a tests/unit/testutil.h tests/unit/fixcol.h
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) $(PKG_CFLAGS) $(shell pkg-config --cflags cmocka) -Isrc/lib -Itests/unit \
	  -o $@ $< $(BUILD)/san/libankihost.a $(PKG_LIBS) $(shell pkg-config --libs cmocka) -lm

# The same unit tests without sanitizers, for valgrind (tests/check-valgrind.sh).
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libankihost.a tests/unit/testutil.h tests/unit/fixcol.h
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) $(shell pkg-config --cflags cmocka) -Isrc/lib -Itests/unit \
	  -o $@ $< $(BUILD)/libankihost.a $(PKG_LIBS) $(shell pkg-config --libs cmocka) -lm

# Anki's unicase collation for the stock sqlite3 shell (contrib/sqlite).
UNICASE_EXT_SRCS := contrib/sqlite/unicase_ext.c src/lib/unicase.c src/lib/text.c src/lib/buf.c src/lib/status.c
$(BUILD)/unicase.so: $(UNICASE_EXT_SRCS) src/lib/unicase.h src/lib/text.h
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -fPIC -shared $(PKG_CFLAGS) -Isrc/lib -o $@ $(UNICASE_EXT_SRCS) $(PKG_LIBS)

BENCH_SRCS := $(sort $(wildcard bench/*.c))
$(BUILD)/bench/%: bench/%.c $(BUILD)/libankihost.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) -Isrc/lib -o $@ $< $(BUILD)/libankihost.a $(PKG_LIBS) -lm

.PHONY: all san tsan check-tsan unit-build valgrind-build check-valgrind bench-build check-nix check-system fuzz deps check check-unit check-integration run bench lint format clean install
all: $(addprefix $(BUILD)/bin/,$(PROGS)) $(BUILD)/unicase.so
san: $(addprefix $(BUILD)/san/bin/,$(PROGS)) $(BUILD)/unicase.so
tsan: $(addprefix $(BUILD)/tsan/bin/,$(PROGS)) $(BUILD)/unicase.so
unit-build: $(addprefix $(BUILD)/san/tests/,$(UNIT_NAMES))
valgrind-build: $(addprefix $(BUILD)/tests/,$(UNIT_NAMES)) all

# Debian 12 packages the build, the tests and the tools need.
# Node.js and npm come with the machine image (its nodejs conflicts with
# Debian's npm package), so they are not listed here.
DEB_PACKAGES := build-essential pkg-config sqlite3 libsqlite3-dev zstd libzstd-dev libjansson-dev \
  libmicrohttpd-dev libcurl4-openssl-dev libzip-dev libssl-dev libutf8proc-dev libpcre2-dev \
  libcmocka-dev zlib1g-dev age python3 python3-pytest python3-zstandard iproute2 cppcheck clang-tidy clang-format \
  nix-bin python3-pyflakes systemd clang debootstrap systemd-container valgrind

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all $(words $(DEB_PACKAGES)) Debian packages present"; exit 0; fi; \
	echo "deps: missing:" $$missing; \
	if [ "$$(id -u)" != 0 ]; then echo "deps: run as root (or: sudo apt-get install -y --no-install-recommends $$missing)" >&2; exit 1; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	{ [ -n "$${APT_UPDATED:-}" ] || apt-get update -q; } && apt-get install -y -q --no-install-recommends $$missing

check: deps
	@$(MAKE) --no-print-directory san unit-build
	@tests/run-all.sh

check-unit: san unit-build
	@tests/run-all.sh unit

check-integration: san
	@tests/run-all.sh integration

check-nix:
	@tests/check-nix.sh

# ThreadSanitizer builds of the programs under the concurrency tests (also in make check)
check-tsan: deps
	@tests/check-tsan.sh

# memcheck over the release build: unit tests and programs (also in make check)
check-valgrind: deps
	@tests/check-valgrind.sh

# libFuzzer: anki-connectd's request parser and the search language (make check runs each 20 s)
fuzz:
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-600} tests/check-fuzz.sh

# The units under a real systemd in systemd-nspawn containers (root; Debian
# mirror the first time).  Also part of make check (tests/check-system.sh).
check-system: deps
	@tests/check-system.sh

run: deps
	@$(MAKE) --no-print-directory all
	@contrib/run-demo.sh

bench-build: $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

bench: deps
	@$(MAKE) --no-print-directory all bench-build
	@bench/run.sh

C_FILES = $(shell find src tests/unit bench -name '*.[ch]' 2>/dev/null)
lint: deps
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	  --std=c11 -D_GNU_SOURCE --suppress=missingIncludeSystem --inline-suppr -Isrc/lib $(filter src/%,$(C_FILES))
	clang-tidy --quiet $(filter src/%.c,$(C_FILES)) -- -std=c17 -D_GNU_SOURCE -Isrc/lib $(PKG_CFLAGS)

format:
	clang-format -i $(C_FILES)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(addprefix $(BUILD)/bin/,$(PROGS)) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf $(BUILD)
