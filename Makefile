# cdrpipe: small C tools for call-detail records, messaging events and
# call recordings.  Plain GNU make.

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
DATADIR	?= $(PREFIX)/share/cdrpipe
MANDIR	?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
DESTDIR	?=

CC	?= cc
CFLAGS	?= -O2 -g
PKG_CONFIG ?= pkg-config
B	?= build

# The project's own flags stay separate from the user's CFLAGS.
WARN	:= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARN	+= -Werror
endif

# libarchive and zlib ship .pc files; libjq on Debian 12 does not.
PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags libarchive zlib 2>/dev/null)
PC_LIBS	  := $(shell $(PKG_CONFIG) --libs libarchive zlib 2>/dev/null || echo -larchive -lz)
JQ_CFLAGS := $(shell $(PKG_CONFIG) --cflags libjq 2>/dev/null)
JQ_LIBS	  := $(shell $(PKG_CONFIG) --libs libjq 2>/dev/null || echo -ljq)
JQ_VERSION := $(shell $(PKG_CONFIG) --modversion libjq 2>/dev/null || \
	      dpkg-query -W -f '$${Version}' libjq-dev 2>/dev/null | sed 's/-.*//' || echo unknown)

ALL_CPPFLAGS := -D_GNU_SOURCE -Icommon -DCDR_DATADIR='"$(DATADIR)"' \
		-DCDR_JQ_VERSION='"$(JQ_VERSION)"' $(PC_CFLAGS) $(JQ_CFLAGS) $(CPPFLAGS)
# No fused multiply-add: cdr-gen output must be the same bytes on every machine.
ALL_CFLAGS := -std=c11 -ffp-contract=off $(WARN) $(CFLAGS)
LIBS	:= $(PC_LIBS) $(JQ_LIBS) -lm -lpthread

# Extra libraries of single tools.
LIBS_cdr-partition := -lxxhash
LIBS_cdr-validate  := -lxxhash
LIBS_cdr-resample  := -lsoxr
LIBS_cdr-tocsv     := -ldeflate

COMMON_SRC := $(sort $(wildcard common/*.c))
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/%.o)
TOOL_SRC   := $(sort $(wildcard tools/cdr-*.c))
TOOLS	   := $(TOOL_SRC:tools/%.c=%)
BINS	   := $(TOOLS:%=$(B)/bin/%)
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNITS	   := $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
LIBCDR	   := $(B)/libcdr.a

.PHONY: all check unit demo deps deps-check install uninstall asan clean bench fuzz completions

all: $(LIBCDR) $(BINS)

$(B)/common/%.o: common/%.c $(wildcard common/*.h) | $(B)/common
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIBCDR): $(COMMON_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# A tool is tools/cdr-VERB.c plus any tools/VERB/*.c.
.SECONDEXPANSION:
$(B)/bin/%: tools/%.c $$(wildcard tools/$$(subst cdr-,,$$*)/*.c) $$(wildcard tools/$$(subst cdr-,,$$*)/*.h) $(LIBCDR) $(wildcard common/*.h) | $(B)/bin
	$(CC) $(ALL_CPPFLAGS) -Itools/$(patsubst cdr-%,%,$*) $(ALL_CFLAGS) $(LDFLAGS) -o $@ \
		$(filter %.c,$^) $(LIBCDR) $(LIBS_$*) $(LIBS)

$(B)/unit/%: tests/unit/%.c tests/unit/unit.h $(LIBCDR) | $(B)/unit
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBCDR) $(LIBS)

$(B)/common $(B)/bin $(B)/unit:
	mkdir -p $@

unit: $(UNITS)

# make deps installs what is missing (as root) or says what to install.
deps:
	@build-aux/deps install

# Installs what is missing when run as root; otherwise says what to run.
deps-check:
	@build-aux/deps check >/dev/null 2>&1 || build-aux/deps install

check: deps-check all unit fuzz-replay
	@CDR_BIN=$(abspath $(B))/bin CDR_UNIT=$(abspath $(B))/unit tests/run

asan:
	ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:verify_asan_link_order=0 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(MAKE) B=$(B)-asan CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		LDFLAGS="-fsanitize=address,undefined" check

demo: deps-check all
	@CDR_BIN=$(abspath $(B))/bin share/pipelines/demo.sh

bench: deps-check all
	@CDR_BIN=$(abspath $(B))/bin bench/all

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)/
	cd share && find . -type d -exec install -d '$(DESTDIR)$(DATADIR)/{}' \;
	cd share && find . -type f ! -path './man/*' -exec sh -c \
		'install -m $$(test -x "$$1" && echo 755 || echo 644) "$$1" "$$2/$$1"' _ {} '$(DESTDIR)$(DATADIR)' \;
	rm -rf $(DESTDIR)$(DATADIR)/man
	for m in share/man/man1/*.1; do [ -e "$$m" ] && install -m 644 "$$m" $(DESTDIR)$(MANDIR)/man1/; done; true
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	for t in $(TOOLS); do \
		[ -e completions/bash/$$t ] && install -m 644 completions/bash/$$t $(DESTDIR)$(BASHCOMPDIR)/$$t; \
		[ -e completions/zsh/_$$t ] && install -m 644 completions/zsh/_$$t $(DESTDIR)$(ZSHCOMPDIR)/_$$t; \
		[ -e completions/fish/$$t.fish ] && install -m 644 completions/fish/$$t.fish $(DESTDIR)$(FISHCOMPDIR)/$$t.fish; \
	done; true

uninstall:
	for t in $(TOOLS); do \
		rm -f $(DESTDIR)$(BINDIR)/$$t $(DESTDIR)$(MANDIR)/man1/$$t.1 \
		      $(DESTDIR)$(BASHCOMPDIR)/$$t $(DESTDIR)$(ZSHCOMPDIR)/_$$t \
		      $(DESTDIR)$(FISHCOMPDIR)/$$t.fish; \
	done
	rm -rf $(DESTDIR)$(DATADIR)

# ---- fuzzing: fuzz/fuzz_TARGET.c, one harness per parser ----
# make fuzz builds them with libFuzzer (clang) into build-fuzz/ and runs each
# for FUZZ_TIME seconds: new inputs go to build-fuzz/corpus/TARGET, crashes
# to build-fuzz/crashes/TARGET.  make check replays the seeds in
# fuzz/corpus/ and the crashers in fuzz/regressions/ through the same
# harnesses built with $(CC) and fuzz/driver.c (no clang needed).
FUZZ_TARGETS ?= archive csv ndjson policy schema template time wav
FUZZ_TIME ?= 60
FUZZ_CC	?= clang
FUZZ_B	:= build-fuzz
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	       -fno-sanitize-recover=undefined
FUZZ_DEPS := fuzz/fuzz.h fuzz/util.c $(wildcard common/*.h)
FUZZ_SRC_template := tools/partition/template.c tools/partition/encode.c
FUZZ_SRC_wav := tools/resample/wav.c
FUZZ_INC_template := -Itools/partition
FUZZ_INC_wav := -Itools/resample
FUZZ_LIBS_template := -lxxhash
# Harnesses that include a tool's source.
FUZZ_DEP_policy := tools/cdr-tier.c
FUZZ_DEP_archive := tools/cdr-tier.c

.PHONY: fuzz-replay fuzz-build fuzz-deps

fuzz-replay: $(FUZZ_TARGETS:%=$(B)/fuzz-replay/fuzz_%)

$(B)/fuzz-replay/fuzz_%: fuzz/fuzz_%.c fuzz/driver.c $(FUZZ_DEPS) $$(FUZZ_SRC_$$*) $$(FUZZ_DEP_$$*) $(LIBCDR) | $(B)/fuzz-replay
	$(CC) $(ALL_CPPFLAGS) $(FUZZ_INC_$*) $(ALL_CFLAGS) $(LDFLAGS) -o $@ \
		$< fuzz/util.c fuzz/driver.c $(FUZZ_SRC_$*) $(LIBCDR) $(FUZZ_LIBS_$*) $(LIBS)

$(B)/fuzz-replay:
	mkdir -p $@

# Run inside a make with B=$(FUZZ_B) CC=$(FUZZ_CC): libcdr.a is built
# with coverage and sanitizers too.
fuzz-build: $(FUZZ_TARGETS:%=$(B)/fuzz_%)

$(B)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_DEPS) $$(FUZZ_SRC_$$*) $$(FUZZ_DEP_$$*) $(LIBCDR)
	$(CC) $(ALL_CPPFLAGS) $(FUZZ_INC_$*) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ \
		$< fuzz/util.c $(FUZZ_SRC_$*) $(LIBCDR) $(FUZZ_LIBS_$*) $(LIBS)

fuzz-deps:
	@build-aux/deps check fuzz >/dev/null 2>&1 || build-aux/deps install fuzz

fuzz: deps-check fuzz-deps
	$(MAKE) B=$(FUZZ_B) CC=$(FUZZ_CC) \
		CFLAGS="$(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link" fuzz-build
	fuzz/run $(FUZZ_B) $(FUZZ_TIME) $(FUZZ_TARGETS)

# completions/ is generated from each tool's --help (checked by tests/90-docs.bats).
completions: all
	build-aux/gen-completions $(B)/bin completions

clean:
	rm -rf build build-asan build-fuzz
